FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 VAR_DIR=/app/var
WORKDIR /app
RUN groupadd --system app && useradd --system --gid app --home /app app
# The pinned dependencies first (a layer that changes only with the lock), then the portal itself.
COPY requirements/lock.txt ./requirements/
RUN pip install --upgrade pip && pip install -r requirements/lock.txt
COPY pyproject.toml README.md ./
COPY apps ./apps
COPY config ./config
RUN pip install --no-deps . && pip check
COPY . .
RUN python scripts/compile_messages.py \
    && DJANGO_SETTINGS_MODULE=config.settings.production SECRET_KEY=build python manage.py collectstatic --no-input -v0 \
    && mkdir -p /app/var && chown -R app:app /app/var
USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz').status==200 else 1)"
# No gunicorn access log: it would record client addresses; the proxy logs requests without them.
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
