from django.urls import path

from . import views

app_name = "invoices"
urlpatterns = [
    path("", views.invoice_index, name="index"),
    path("new/", views.invoice_new, name="new"),
    path("totals/", views.invoice_totals, name="totals"),
    path("<int:pk>/", views.invoice_detail, name="detail"),
    path("<int:pk>/edit/", views.invoice_edit, name="edit"),
    path("<int:pk>/issue/", views.invoice_issue_view, name="issue"),
    path("<int:pk>/void/", views.invoice_void_view, name="void"),
    path("<int:pk>/reissue/", views.invoice_reissue_view, name="reissue"),
    path("<int:pk>/credit-reissue/", views.invoice_credit_reissue_view, name="credit_reissue"),
    path("<int:pk>/payments/", views.payment_new, name="payment_new"),
    path("<int:pk>/credit/", views.credit_note_new, name="credit_note_new"),
    path("products/", views.product_index, name="products"),
    path("products/new/", views.product_new, name="product_new"),
    path("products/<int:product_pk>/edit/", views.product_edit, name="product_edit"),
    path("payments/<int:payment_pk>/delete/", views.payment_delete_view, name="payment_delete"),
]
