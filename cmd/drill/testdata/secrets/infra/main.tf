variable "token" {
  type = string
}

variable "special" {
  type = string
}

# HCL quoting of a value with quotes, backslashes and <: Terraform prints
# it escaped in the plan.
resource "terraform_data" "special" {
  input = "special-${var.special}"
}

# Not marked sensitive: Terraform prints it in the plan, so only drill's
# redaction keeps it out of the provision log.
resource "terraform_data" "app" {
  input = "app-${var.token}"
}

output "token" {
  value     = var.token
  sensitive = true
}

# A value derived from the secret that drill learns only as a sensitive
# Terraform output.
output "digest" {
  value     = sha256("${var.token}-digest")
  sensitive = true
}
