"""Every error class the project defines (warnings excluded), for tests that hold them all."""

from __future__ import annotations

import importlib
import inspect
import pkgutil


def project_errors() -> list[type[BaseException]]:
    classes: list[type[BaseException]] = []
    for package in ("transforms", "expectations", "pipeline"):
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
            module = importlib.import_module(info.name)
            for _, obj in inspect.getmembers(module, inspect.isclass):
                if (
                    issubclass(obj, BaseException)
                    and not issubclass(obj, Warning)  # warnings are not errors
                    and obj.__module__ == info.name
                ):
                    classes.append(obj)
    return classes
