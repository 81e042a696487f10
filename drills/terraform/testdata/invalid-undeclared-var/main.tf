# References a variable that is not declared: apply must fail and say so.
resource "terraform_data" "broken" {
  input = var.not_declared_anywhere
}
