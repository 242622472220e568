from django.urls import path

from slaverycases.dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("statistics/", views.statistics, name="statistics"),
]
