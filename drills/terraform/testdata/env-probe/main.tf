# Writes a variable of terraform's environment into a file, to show that the
# step environment reaches terraform (and its provisioners).
resource "terraform_data" "probe" {
  provisioner "local-exec" {
    command = "printf '%s' \"$DRILL_PROBE\" > '${path.module}/probe.txt'"
  }
}
