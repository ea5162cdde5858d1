from datetime import date

from django.utils import formats, translation


def test_kazakh_dates_and_numbers_use_the_portal_formats():
    with translation.override("kk"):
        assert formats.date_format(date(2026, 12, 21)) == "21.12.2026"
        grouped = formats.number_format(1234567.5, decimal_pos=1, use_l10n=True, force_grouping=True)
        assert grouped == "1\xa0234\xa0567,5"
