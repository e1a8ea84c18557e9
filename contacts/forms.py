from typing import Any

from django import forms

from platform_crm.models import Account

from .models import Contact
from .phones import phone_to_e164
from .services import EDITABLE_FIELDS


class ContactForm(forms.ModelForm[Contact]):
    class Meta:
        model = Contact
        fields = EDITABLE_FIELDS
        help_texts = {
            "phone": "Local numbers are read as in the account's country; add +country code "
            "for others.",
        }

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account = account

    def clean_phone(self) -> str:
        # Checked here too, so every field's error shows at once; the service re-checks.
        phone: str = self.cleaned_data["phone"].strip()
        if phone and phone_to_e164(phone, default_region=self.account.country) is None:
            raise forms.ValidationError("This does not look like a phone number.")
        return phone
