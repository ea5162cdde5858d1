from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION policies_version_immutable() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'published' THEN
        IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'published policy version % cannot be deleted', OLD.number
                USING ERRCODE = 'restrict_violation';
        END IF;
        IF NEW.number IS DISTINCT FROM OLD.number
           OR NEW.status IS DISTINCT FROM OLD.status
           OR NEW.published_at IS DISTINCT FROM OLD.published_at
           OR NEW.implicit_acceptance_at IS DISTINCT FROM OLD.implicit_acceptance_at
           OR NEW.published_by_id IS DISTINCT FROM OLD.published_by_id
           OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
            RAISE EXCEPTION 'published policy version % cannot be changed', OLD.number
                USING ERRCODE = 'restrict_violation';
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER policies_version_immutable
    BEFORE UPDATE OR DELETE ON policies_policyversion
    FOR EACH ROW EXECUTE FUNCTION policies_version_immutable();

CREATE OR REPLACE FUNCTION policies_text_immutable() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND EXISTS (
        SELECT 1 FROM policies_policyversion WHERE id = OLD.version_id AND status = 'published'
    ) THEN
        RAISE EXCEPTION 'texts of a published policy version cannot be changed'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND EXISTS (
        SELECT 1 FROM policies_policyversion WHERE id = NEW.version_id AND status = 'published'
    ) THEN
        RAISE EXCEPTION 'texts cannot be added to a published policy version'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER policies_text_immutable
    BEFORE INSERT OR UPDATE OR DELETE ON policies_policytext
    FOR EACH ROW EXECUTE FUNCTION policies_text_immutable();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS policies_text_immutable ON policies_policytext;
DROP FUNCTION IF EXISTS policies_text_immutable();
DROP TRIGGER IF EXISTS policies_version_immutable ON policies_policyversion;
DROP FUNCTION IF EXISTS policies_version_immutable();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("policies", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
