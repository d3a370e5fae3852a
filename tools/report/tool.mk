report_LIBS := report
