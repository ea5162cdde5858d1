from django.utils.translation import gettext_lazy as _

from apps.acceptances.models import Acceptance


class ConsentRecord(Acceptance):
    """The acceptances seen as signed consent records (ISO/IEC 27560): no table of its own, an export."""

    class Meta:
        proxy = True
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        default_permissions = ("view",)
        permissions = [("export_consentrecord", _("Can export signed consent records for the authority"))]
