#!/bin/sh
# MWAA runs this before each Airflow component starts. lakehouse.tools.mwaa_deploy uploads it with each
# package's version placeholder replaced by the version requirements-dbt.txt pins that package to,
# so the dbt on MWAA is the dbt of the Astro image's venv.
#
# dbt gets a virtual environment of its own, as in Cosmos's MWAA guide: installed beside Airflow it
# would be held to Airflow's constraints file. MWAA runs only the aws target, so of the adapters
# only dbt-athena is installed.
set -eu

export DBT_VENV_PATH="${AIRFLOW_HOME}/dbt_venv"
# Only workers run tasks, so only they run dbt: the scheduler, web server and triggerer skip the
# build (MWAA names the component in MWAA_AIRFLOW_COMPONENT; without it, build).
if [ "${MWAA_AIRFLOW_COMPONENT:-worker}" = "worker" ]; then
    # MWAA sets PIP_USER=true for its own installs, and pip refuses user installs into a venv.
    export PIP_USER=false
    python3 -m venv "${DBT_VENV_PATH}"
    "${DBT_VENV_PATH}/bin/pip" install --quiet "dbt-core==@dbt-core@" "dbt-athena-community==@dbt-athena-community@"
    export PIP_USER=true
fi

# Read by lakehouse.config: the DAGs build the aws target, and Cosmos runs this dbt.
export LAKEHOUSE_TARGET=aws
export LAKEHOUSE_DBT_EXECUTABLE="${DBT_VENV_PATH}/bin/dbt"
