variable "marker" {
  type = string
}

resource "terraform_data" "slow" {
  provisioner "local-exec" {
    command = "touch '${var.marker}' && sleep 60"
  }
}
