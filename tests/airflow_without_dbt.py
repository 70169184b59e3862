"""Python source that makes dbt unimportable in the process that runs it first: Airflow's side of
the Astro image (requirements.txt) and MWAA's environment (requirements-mwaa.txt) have no dbt,
which runs in a venv of its own there, while this project's one local venv has both."""

NO_DBT = """
import sys

class NoDbt:
    def find_spec(self, name, path=None, target=None):
        if name == "dbt" or name.startswith("dbt."):
            raise ModuleNotFoundError(f"No module named {name!r}: the Airflow side has no dbt", name=name)

sys.meta_path.insert(0, NoDbt())
"""
