from django.urls import path

from referrals import views

app_name = "referrals"

urlpatterns = [
    path("", views.referral_list, name="list"),
    path("victims/<int:pk>/nrm/new/", views.nrm_new, name="nrm-new"),
    path("victims/<int:pk>/ms1/new/", views.ms1_new, name="ms1-new"),
    path("victims/<int:pk>/agency/new/", views.agency_new, name="agency-new"),
    path("nrm/<int:pk>/decision/", views.nrm_decision, name="nrm-decision"),
    path("nrm/<int:pk>/link/", views.nrm_link, name="nrm-link"),
]
