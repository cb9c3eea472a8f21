"""No views: the example is about settings."""

urlpatterns: list[object] = []
