# The Astro project image: Airflow 3.3 on Astro Runtime, with dbt in a virtual environment of its own.
#
# Assumption, to confirm against Astronomer's Runtime release notes before the first build: Runtime
# 3.3-8 carries Airflow 3.3.2, the pin in requirements.txt, and is published for Python 3.12 to 3.14
# but not for the local venv's 3.11. 3.12 is the nearest; tests/astro resolves both requirements
# files for the Python this tag names.
FROM astrocrpublic.azurecr.io/runtime:3.3-8-python-3.12

# The base image's ONBUILD steps have run by now: packages.txt and requirements.txt are installed
# and the build context is in /usr/local/airflow, the working directory. packages.txt is empty:
# every wheel installed here brings its own libraries, and the one step that needs a JRE, the taxi
# Glue job run by Spark on the local target, needs pyspark too, which only requirements-dev.txt
# installs; on the aws target AWS Glue runs that job.

# dbt runs from its own venv (Cosmos: ExecutionMode.LOCAL with dbt_executable_path), so its pins
# never have to agree with the Runtime's: requirements-dbt.txt alone decides them, without any pip
# constraints the Runtime sets for Airflow's environment. The venv's pip is called directly rather
# than through `activate`, which needs bash. The project goes in editable: `lakehouse-dbt` and the
# lakehouse.iceberg_writer plugin then run the plugins/ code the Airflow side runs, including the
# plugins/ folder `astro dev start` mounts over the image's. Its requires-python names the local
# venv's 3.11 only, hence --ignore-requires-python.
RUN python -m venv /usr/local/airflow/dbt_venv && \
    env -u PIP_CONSTRAINT /usr/local/airflow/dbt_venv/bin/pip install --no-cache-dir -r requirements-dbt.txt && \
    env -u PIP_CONSTRAINT /usr/local/airflow/dbt_venv/bin/pip install --no-cache-dir --no-deps \
        --ignore-requires-python -e .

# lakehouse.config reads it: the local target's model tasks run dbt under the warehouse lock.
# A Deployment on the aws target sets it to /usr/local/airflow/dbt_venv/bin/dbt instead; Athena
# needs no local lock.
ENV LAKEHOUSE_DBT_EXECUTABLE=/usr/local/airflow/dbt_venv/bin/lakehouse-dbt
