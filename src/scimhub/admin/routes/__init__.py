"""The admin API's routes, one module per area, all under `/admin/v1`."""
