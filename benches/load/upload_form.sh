# Sourced by the load scripts. upload_form PDF SIZE: a PDF of SIZE bytes (no thumbnail to make) and
# the whole multipart form that uploads it as an internal file, for wrk with upload.lua (whose
# Content-Type names the same boundary): the PDF written to PDF, the form to PDF.form.
upload_form() {
  local pdf=$1 size=$2
  { printf '%%PDF-1.7\n'; head -c $((size - 9)) /dev/urandom; } > "$pdf"
  { printf -- '------crm-bench-boundary\r\nContent-Disposition: form-data; name="visibility"\r\n\r\ninternal\r\n'
    printf -- '------crm-bench-boundary\r\nContent-Disposition: form-data; name="file"; filename="%s"\r\n' "$(basename "$pdf")"
    printf -- 'Content-Type: application/pdf\r\n\r\n'; cat "$pdf"
    printf -- '\r\n------crm-bench-boundary--\r\n'; } > "$pdf.form"
}
