from django.conf import settings
from django.db import migrations, models


def counters_copy(apps, schema_editor):
    old = apps.get_model("withdrawals", "ReferenceCounter")
    new = apps.get_model("withdrawals", "ReferenceSeriesCounter")
    new.objects.bulk_create([new(series="WR", year=row.year, last=row.last) for row in old.objects.all()])


def counters_copy_back(apps, schema_editor):
    old = apps.get_model("withdrawals", "ReferenceCounter")
    new = apps.get_model("withdrawals", "ReferenceSeriesCounter")
    old.objects.bulk_create([old(year=row.year, last=row.last) for row in new.objects.filter(series="WR")])


class Migration(migrations.Migration):
    dependencies = [
        ("withdrawals", "0009_privacy_officer_registers_applications"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="withdrawalrequest",
            name="withdrawals_request_scope_consistent",
        ),
        migrations.RemoveConstraint(
            model_name="withdrawalrequest",
            name="withdrawals_request_other_channels_registered",
        ),
        migrations.RemoveConstraint(
            model_name="withdrawalrequest",
            name="withdrawals_request_web_has_email",
        ),
        # The counter gets a series per type: a new table, the withdrawal counts copied into the WR series.
        migrations.CreateModel(
            name="ReferenceSeriesCounter",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("series", models.CharField(default="WR", max_length=4, verbose_name="series")),
                ("year", models.PositiveSmallIntegerField(verbose_name="year")),
                ("last", models.PositiveIntegerField(default=0, verbose_name="last number")),
            ],
            options={"verbose_name": "reference counter", "verbose_name_plural": "reference counters"},
        ),
        migrations.RunPython(counters_copy, counters_copy_back),
        migrations.DeleteModel(name="ReferenceCounter"),
        migrations.RenameModel(old_name="ReferenceSeriesCounter", new_name="ReferenceCounter"),
        migrations.AddField(
            model_name="withdrawalrequest",
            name="details",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="What only this type of request asks for, such as the corrections wanted.",
                verbose_name="details of the request",
            ),
        ),
        migrations.AddField(
            model_name="withdrawalrequest",
            name="request_type",
            field=models.CharField(
                choices=[
                    ("withdrawal", "Withdrawal of consent"),
                    ("access", "Access to my data"),
                    ("correction", "Correction of my data"),
                    ("blocking", "Blocking of my data"),
                    ("destruction", "Destruction of my data"),
                    ("objection", "Objection to automated processing"),
                ],
                db_default="withdrawal",
                default="withdrawal",
                max_length=16,
                verbose_name="type",
            ),
        ),
        migrations.AlterField(
            model_name="withdrawalrequest",
            name="channel",
            field=models.CharField(
                choices=[
                    ("web", "Web form"),
                    ("api", "A connected service, on the person's behalf"),
                    ("email", "Email"),
                    ("post", "Post"),
                    ("in_person", "In person"),
                ],
                db_default="web",
                default="web",
                max_length=16,
                verbose_name="received by",
            ),
        ),
        migrations.AlterField(
            model_name="withdrawalrequest",
            name="scope",
            field=models.CharField(
                blank=True,
                choices=[("all", "All processing"), ("partial", "Selected purposes")],
                help_text="For a withdrawal only.",
                max_length=8,
                verbose_name="scope",
            ),
        ),
        migrations.AddIndex(
            model_name="withdrawalrequest",
            index=models.Index(fields=["request_type", "status"], name="withdrawals_request_type"),
        ),
        migrations.AddConstraint(
            model_name="referencecounter",
            constraint=models.UniqueConstraint(
                fields=("series", "year"), name="withdrawals_reference_counter_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="withdrawalrequest",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("acknowledgement", True),
                        ("purposes", []),
                        ("request_type", "withdrawal"),
                        ("scope", "all"),
                    ),
                    models.Q(
                        ("request_type", "withdrawal"),
                        ("scope", "partial"),
                        models.Q(("purposes", []), _negated=True),
                    ),
                    models.Q(
                        models.Q(("request_type", "withdrawal"), _negated=True),
                        ("purposes", []),
                        ("scope", ""),
                    ),
                    _connector="OR",
                ),
                name="withdrawals_request_scope_consistent",
                violation_error_message="A full withdrawal needs the acknowledgement; a partial one needs purposes.",
            ),
        ),
        migrations.AddConstraint(
            model_name="withdrawalrequest",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("channel__in", ["web", "api"]),
                    models.Q(("status", "unverified"), _negated=True),
                    _connector="OR",
                ),
                name="withdrawals_request_other_channels_registered",
            ),
        ),
        migrations.AddConstraint(
            model_name="withdrawalrequest",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("channel__in", ["web", "api"]), _negated=True),
                    models.Q(("email", ""), _negated=True),
                    _connector="OR",
                ),
                name="withdrawals_request_web_has_email",
            ),
        ),
    ]
