from django import forms

from .models import Contact
from .services import EDITABLE_FIELDS


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = EDITABLE_FIELDS
        help_texts = {
            "phone": "Local numbers are read as in the account's country; add +country code "
            "for others.",
        }
