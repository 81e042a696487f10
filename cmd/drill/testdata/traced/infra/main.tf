# One built-in resource: the trace's provision and destroy spans come from
# a real terraform apply and destroy, offline.
resource "terraform_data" "stack" {
  input = "traced"
}
