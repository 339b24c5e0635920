"""End-to-end stage: a real Airflow deployment, driven through its REST API and a headless browser.

``.venv/bin/python -m pytest e2e`` starts one deployment for the session (see ``deployment.py``): it
needs PostgreSQL on 127.0.0.1:5432 (trust authentication, user ``postgres``) and Debian's ``chromium``
and ``chromium-driver``. The run folder it prints keeps the component logs and the screenshots.
"""
