"""Every model of the xero_sync app, as Django loads them: each part keeps its own in its
models.py (same app, same tables) and is re-exported here, one block per part."""

# connection
from .connection.models import HOLDING_STATUSES as HOLDING_STATUSES
from .connection.models import UNFINISHED_STATUSES as UNFINISHED_STATUSES
from .connection.models import ConflictRule as ConflictRule
from .connection.models import ConnectionStatus as ConnectionStatus
from .connection.models import ContactPushMode as ContactPushMode
from .connection.models import XeroCall as XeroCall
from .connection.models import XeroConnection as XeroConnection

# contacts
from .contacts.models import ContactConflict as ContactConflict
from .contacts.models import ContactImport as ContactImport
from .contacts.models import ContactSync as ContactSync
from .contacts.models import ContactSyncState as ContactSyncState
from .contacts.models import DuplicateResolution as DuplicateResolution
from .contacts.models import PhoneClash as PhoneClash
from .contacts.models import PossibleDuplicate as PossibleDuplicate
from .contacts.models import XeroContact as XeroContact

# inbound
from .inbound.models import QuarantinedRecord as QuarantinedRecord
from .inbound.models import QuarantineKind as QuarantineKind

# invoices
from .invoices.models import ADMIN_ASK_OTHERWISE as ADMIN_ASK_OTHERWISE
from .invoices.models import ADMIN_ASKS as ADMIN_ASKS
from .invoices.models import InvoiceSync as InvoiceSync
from .invoices.models import InvoiceSyncState as InvoiceSyncState
from .invoices.models import PastInvoiceImport as PastInvoiceImport
from .invoices.models import PaymentSync as PaymentSync
from .invoices.models import XeroInvoiceNumber as XeroInvoiceNumber

# items
from .items.models import XeroItem as XeroItem

# organisation
from .organisation.models import InvoiceXeroOptions as InvoiceXeroOptions
from .organisation.models import OrganisationSettings as OrganisationSettings

# reconcile
from .reconcile.models import Direction as Direction
from .reconcile.models import ReconciliationDifference as ReconciliationDifference
from .reconcile.models import ReconciliationRun as ReconciliationRun
from .reconcile.models import Repair as Repair
from .reconcile.models import RunPhase as RunPhase
from .reconcile.models import RunStatus as RunStatus
from .runs import ImportStatus as ImportStatus

# taxes
from .taxes.models import TaxMapping as TaxMapping
from .taxes.models import XeroTaxRate as XeroTaxRate

# webhooks
from .webhooks.models import OwnWrite as OwnWrite
from .webhooks.models import WebhookDelivery as WebhookDelivery
from .webhooks.models import WebhookEvent as WebhookEvent

# ops
