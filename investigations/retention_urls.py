from django.urls import path

from investigations import retention_views

app_name = "retention"

urlpatterns = [
    path("", retention_views.retention_list, name="list"),
    path("<ref:reference>/", retention_views.retention_review, name="review"),
]
