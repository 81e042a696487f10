variable "marker" {
  type = string
}

# Created first and quickly. Terraform saves it to its state only when the
# apply ends or is interrupted gracefully: after a kill -9 of drill, only a
# terraform that outlived drill can save it, so that `drill gc` destroys it
# (its destroy-time provisioner leaves a marker the test looks for).
resource "terraform_data" "created" {
  input = "${var.marker}.destroyed"

  provisioner "local-exec" {
    when    = destroy
    command = "touch '${self.input}'"
  }
}

resource "terraform_data" "slow" {
  depends_on = [terraform_data.created]

  provisioner "local-exec" {
    command = "touch '${var.marker}' && sleep 60"
  }
}
