variable "marker_dir" {
  type = string
}

# Not marked sensitive, on purpose: terraform then prints it in its plan
# and in the provisioner's error, so only drill's redaction keeps it out of
# gc's output and gc.log.
variable "token" {
  type = string
}

# Destroy-time provisioners may only read self: the marker folder and the
# token travel in input.
resource "terraform_data" "guarded" {
  input = {
    dir   = var.marker_dir
    token = var.token
  }

  provisioner "local-exec" {
    when = destroy
    environment = {
      DIR   = self.input.dir
      TOKEN = self.input.token
    }
    command = <<-SH
      set -e
      if [ -e "$DIR/refuse-destroy" ]; then
        echo "destroy refused: $DIR/refuse-destroy exists (token $TOKEN)" >&2
        exit 1
      fi
      if [ -e "$DIR/slow-destroy" ]; then
        touch "$DIR/destroying"
        while [ ! -e "$DIR/go-on" ]; do sleep 0.1; done
      fi
      printf '%s\n' "$TOKEN" >> "$DIR/destroyed-with-token"
    SH
  }
}
