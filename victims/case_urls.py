"""Victim pages inside an investigation: /investigations/<reference>/victims/..."""

from django.urls import path

from victims import views

app_name = "case-victims"

urlpatterns = [
    path("victims/add/", views.victims_add, name="add"),
    path("victims/<int:pk>/account/", views.account_record, name="account"),
    path("victims/<int:pk>/disclosures/new/", views.disclosure_new, name="disclosure-new"),
    path("victims/<int:pk>/custody/new/", views.custody_event_new, name="custody-new"),
    path("disclosures/<int:pk>/link/", views.disclosure_link, name="disclosure-link"),
    path("custody/<int:pk>/s45/", views.custody_s45, name="custody-s45"),
]
