"""The company's time zone: terms in days end at midnight in Almaty, whatever the server's clock says."""

from zoneinfo import ZoneInfo

COMPANY_TZ = ZoneInfo("Asia/Almaty")
