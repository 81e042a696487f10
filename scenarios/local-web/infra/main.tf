# The local "host" of the demo stack. It uses only Terraform's built-in
# terraform_data resource and local-exec provisioner, so it needs no provider
# download and works offline. It reserves the service's port and prepares the
# folder the service runs from; destroy removes that folder again, so the
# leftover check can prove nothing is left.

variable "port" {
  type        = string
  description = "TCP port the service listens on"
}

variable "app_version" {
  type        = string
  description = "version string stamped into the service"
  default     = "v1"
}

locals {
  app_dir = "${abspath(path.root)}/../host"
}

resource "terraform_data" "host_dir" {
  input = local.app_dir

  provisioner "local-exec" {
    command = "mkdir -p '${self.input}'"
  }

  provisioner "local-exec" {
    when    = destroy
    command = "rm -rf '${self.input}'"
  }
}

resource "terraform_data" "service" {
  input = {
    port    = var.port
    version = var.app_version
    dir     = terraform_data.host_dir.output
  }
}

output "app_port" {
  value = terraform_data.service.output.port
}

output "app_dir" {
  value = terraform_data.service.output.dir
}

output "app_version" {
  value = terraform_data.service.output.version
}
