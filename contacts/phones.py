"""Phone numbers normalised to E.164 with the account's country as the default region."""

import phonenumbers


def phone_to_e164(raw: str, *, default_region: str) -> str | None:
    """E.164 for a number a person typed; None when it is not a possible phone number."""
    if not raw or not raw.strip():
        return None
    try:
        number = phonenumbers.parse(raw, default_region.upper())
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
