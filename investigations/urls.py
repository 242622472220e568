from django.urls import path, register_converter

from investigations import pdf_views, views


class ReferenceConverter:
    regex = r"[A-Za-z]{2,10}-\d{4}-\d{6}"

    def to_python(self, value: str) -> str:
        return value.upper()

    def to_url(self, value: str) -> str:
        return value


register_converter(ReferenceConverter, "ref")

app_name = "investigations"

urlpatterns = [
    path("", views.investigation_list, name="list"),
    path("new/", views.investigation_new, name="new"),
    path("<ref:reference>/", views.investigation_detail, name="detail"),
    path("<ref:reference>/edit/", views.investigation_edit, name="edit"),
    path("<ref:reference>/crime-decision/", views.crime_decision, name="crime-decision"),
    path("<ref:reference>/allocate/", views.allocate, name="allocate"),
    path("<ref:reference>/offences/new/", views.offence_new, name="offence-new"),
    path(
        "<ref:reference>/offences/<int:pk>/outcome/",
        views.offence_outcome,
        name="offence-outcome",
    ),
    path("<ref:reference>/enquiries/new/", views.enquiry_new, name="enquiry-new"),
    path(
        "<ref:reference>/enquiries/<int:pk>/complete/",
        views.enquiry_complete,
        name="enquiry-complete",
    ),
    path("<ref:reference>/suspects/new/", views.suspect_new, name="suspect-new"),
    path("<ref:reference>/suspects/<int:pk>/edit/", views.suspect_edit, name="suspect-edit"),
    path("<ref:reference>/reviews/new/", views.review_new, name="review-new"),
    path("<ref:reference>/closure/request/", views.closure_request, name="closure-request"),
    path("<ref:reference>/closure/review/", views.closure_review, name="closure-review"),
    path("<ref:reference>/reopen/", views.reopen, name="reopen"),
    path("<ref:reference>/share/", views.share, name="share"),
    path("<ref:reference>/print/", pdf_views.print_form, name="print"),
    path("<ref:reference>/summary.pdf", pdf_views.summary_pdf, name="summary-pdf"),
]
