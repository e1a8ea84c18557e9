"""`ago`: how long since something happened, in words ("0 minutes ago" read as a fault)."""

from datetime import timedelta

from django.utils import timezone

from platform_crm.templatetags.formatting import ago


def test_within_a_minute_is_just_now_and_later_says_how_long():
    now = timezone.now()
    assert ago(now - timedelta(seconds=5)) == "just now"
    assert ago(now - timedelta(minutes=3, seconds=5)) == "3\xa0minutes ago"
    assert ago(now - timedelta(hours=2, minutes=1)) == "2\xa0hours, 1\xa0minute ago"
    assert ago(None) == ""
