from django.db import migrations

# Acceptances are evidence (Law on Personal Data, Art. 25(2)(5)): no UPDATE or DELETE, except the retention
# erasure, which may clear the IP address and the user agent and change nothing else.
FORWARD = """
CREATE OR REPLACE FUNCTION acceptances_acceptance_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND NEW.ip IS NULL
       AND NEW.user_agent = ''
       AND (to_jsonb(NEW) - 'ip' - 'user_agent') = (to_jsonb(OLD) - 'ip' - 'user_agent') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'acceptances are append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER acceptances_acceptance_append_only
    BEFORE UPDATE OR DELETE ON acceptances_acceptance
    FOR EACH ROW EXECUTE FUNCTION acceptances_acceptance_append_only();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS acceptances_acceptance_append_only ON acceptances_acceptance;
DROP FUNCTION IF EXISTS acceptances_acceptance_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("acceptances", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
