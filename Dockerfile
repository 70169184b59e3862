# The Astro project image: Airflow 3.3 on Astro Runtime, with dbt in a virtual environment of its own.
#
# Runtime 3.3-8 carries Airflow 3.3.2, the pin in requirements.txt; released 2026-09-23 (3.3-1 and
# 3.3-2 carry 3.3.0). It is published for Python 3.12, 3.13 and 3.14, 3.14 being what the bare
# tag `runtime:3.3-8` runs, so the tag names its Python with the `-python-X.Y` suffix Astronomer
# documents for a non-default Python. 3.12 is the nearest to the local venv's 3.11, for which there
# is no build; tests/astro resolves both requirements files for the Python this tag names.
# Sources: Astronomer's Runtime catalog (https://updates.astronomer.io/astronomer-runtime) as cut on
# 2026-09-25 into github.com/astronomer/astro-cli, pkg/runtimeversions/testdata/catalog.json; the
# suffix: https://www.astronomer.io/docs/astro/cli/customize-dockerfile.
# Unconfirmed: the Runtime release notes and provider reference were read only in copies that end at
# 3.3-2, and the image was not pulled. The Airflow in it may be an Astronomer build (3.3.2+astro.N),
# which `apache-airflow==3.3.2` matches.
FROM astrocrpublic.azurecr.io/runtime:3.3-8-python-3.12

# The base image's ONBUILD steps have run by now: packages.txt and requirements.txt are installed
# and the build context is in /usr/local/airflow, the working directory. Astronomer documents
# ONBUILD steps in the images without `-base` that bring the project in, and that both files are
# installed at build; the order (packages.txt, requirements.txt, then the whole context) is from a
# public Dockerfile's `docker image inspect` of 3.3-2, not checked on 3.3-8. packages.txt is empty:
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
