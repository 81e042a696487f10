# timestamp() is only known at apply time, so every plan updates the resource.
resource "terraform_data" "clock" {
  input = timestamp()
}
