# The Astro project image: Airflow 3.3 on Astro Runtime, with dbt in a virtual environment of its
# own. The base image's build, Python and sources, and the reasons below: docs/astro-image.md.
FROM astrocrpublic.azurecr.io/runtime:3.3-8-python-3.12

# The base image's ONBUILD steps have installed packages.txt (empty) and requirements.txt and
# copied the project here. dbt gets a venv of its own, free of the Runtime's pip constraints.
RUN python -m venv /usr/local/airflow/dbt_venv && \
    env -u PIP_CONSTRAINT /usr/local/airflow/dbt_venv/bin/pip install --no-cache-dir -r requirements-dbt.txt && \
    env -u PIP_CONSTRAINT /usr/local/airflow/dbt_venv/bin/pip install --no-cache-dir --no-deps -e .

# The local target's model tasks run dbt under the warehouse lock (lakehouse-dbt).
ENV LAKEHOUSE_DBT_EXECUTABLE=/usr/local/airflow/dbt_venv/bin/lakehouse-dbt
