# A configuration that converges: a plan right after apply is empty.
variable "greeting" {
  type    = string
  default = "greeting-default"
}

variable "from_file" {
  type    = string
  default = "from-file-default"
}

resource "terraform_data" "greeting" {
  input = var.greeting
}

resource "terraform_data" "from_file" {
  input = var.from_file
}

output "greeting" {
  value = terraform_data.greeting.output
}

output "from_file" {
  value = terraform_data.from_file.output
}

output "settings" {
  value = { port = 18080, tags = ["a", "b"] }
}

output "secret" {
  value     = "s3cr3t-token-4f9a"
  sensitive = true
}

output "credentials" {
  value     = { user = "drill-admin-7c1", password = "pw-91ab-e2" }
  sensitive = true
}
