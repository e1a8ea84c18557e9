# One image for web, worker, beat and flower; the command differs per service.
FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml requirements.lock ./
COPY platform_crm ./platform_crm
COPY contacts ./contacts
COPY invoices ./invoices
COPY taxes ./taxes
COPY xero_sync ./xero_sync
COPY demo ./demo
RUN pip install -c requirements.lock .
COPY . .
# collectstatic needs a key but no real secret; the runtime key comes from the environment.
RUN DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput
RUN useradd --system --uid 1000 crm && chown -R crm /app
USER crm
EXPOSE 8000
CMD ["gunicorn", "platform_crm.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
