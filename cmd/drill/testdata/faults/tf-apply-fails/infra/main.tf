resource "terraform_data" "a" {
  input = "created first"
}

resource "terraform_data" "b" {
  depends_on = [terraform_data.a]
  provisioner "local-exec" {
    command = "echo 'b fails half-way' >&2; exit 1"
  }
}
