"""Running a release: the run context, the step runner, the audit trail and the summary."""
