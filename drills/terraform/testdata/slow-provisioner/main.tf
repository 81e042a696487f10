# Signals that apply has started (a marker file), then blocks, so a test can
# cancel Provision in the middle of an apply.
resource "terraform_data" "slow" {
  provisioner "local-exec" {
    command = "touch '${path.module}/started' && exec sleep 120"
  }
}
