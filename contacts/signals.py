from django.dispatch import Signal

# Sent by contact_create and contact_update inside the service's transaction (receivers that
# queue work must do so on commit). Arguments:
#   contact: the Contact, as saved;
#   fields:  the names of the fields the change set (["created"] for a new contact);
#   at:      when the change was made.
# The Xero sync listens; contacts/ never imports it.
contact_changed = Signal()

# Sent before a user's edit is saved, with `contact` (carrying the new values) and `fields`
# (the names of the fields that change). A receiver returns why the edit cannot be made, in
# plain words for the person editing (say, a name the books already give another contact), or
# "" when it has nothing against it. The edit is refused with every reason given.
contact_edit_refusals = Signal()

# Sent by contacts_merge inside its transaction, before anything moves, with `survivor` and
# `merged` (the contacts folded into it, about to be deleted). A receiver moves or settles what
# it keeps about them that cannot simply be repointed (one-to-one links); rows that point at a
# contact by foreign key are moved to the survivor by the merge itself.
contacts_merging = Signal()

# Sent when the Possible duplicates page is drawn, with `request` and `account`. A receiver
# returns a panel of its own (HTML it rendered, say Xero contacts that match one contact here)
# or "" when it has nothing to show.
duplicate_review_panels = Signal()

# Sent when possible duplicates are listed, with `account`. A receiver returns groups it knows
# of that the contacts' own fields do not show, as [(key, [contact ids], why in words)] (say, a
# Xero contact with one contact's email and another's phone). They are listed, merged and
# marked as not duplicates as the others are; the key must be stable while the group stands.
duplicate_group_sources = Signal()
