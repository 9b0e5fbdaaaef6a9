"""Adult's columns as the benchmarks use them: one list for ours, the peers' workers and the
large-domain case. Standard library only, so the peers' virtualenvs (old pandas, no project)
can import it too."""

QI = [
    "sex",
    "age",
    "race",
    "marital-status",
    "education",
    "native-country",
    "workclass",
    "occupation",
]
SENSITIVE = "salary-class"
