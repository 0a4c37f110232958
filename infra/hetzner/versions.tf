terraform {
  # Cross-variable references in `validation` blocks (pool_domain,
  # sovereign_subdomain, registrar, ...) need Terraform >= 1.9 or
  # OpenTofu >= 1.8; older releases fail at init with "Invalid reference in
  # variable validation" instead of a clear version error.
  required_version = ">= 1.9"

  required_providers {
    hcloud = {
      source  = "hetznercloud/hcloud"
      version = "~> 1.49"
    }
    # The k3s join token of each cluster.
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }
}

provider "hcloud" {
  token = var.hcloud_token
}
