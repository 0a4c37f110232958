# Inputs of the Phase-0 module. The catalyst compiler renders every
# non-secret variable into one `*.auto.tfvars.json` per Sovereign and checks
# it offline against the declarations and validations below
# (compiler/catalyst-tofu). Secrets (hcloud_token, registrar_token) are never
# rendered: they come from TF_VAR_* at apply time.
#
# Keep validations to the functions catalyst-tofu evaluates (see its crate
# docs); anything else is reported as a warning there and only checked at
# plan time.

# --- Sovereign identity -----------------------------------------------------

variable "sovereign_fqdn" {
  description = "FQDN of the Sovereign (e.g. omantel.omani.works). Dots become dashes in resource names: catalyst-<fqdn-dashed>-..."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*(\\.[a-z][a-z0-9-]*)+$", var.sovereign_fqdn)) && length(var.sovereign_fqdn) <= 253
    error_message = "sovereign_fqdn must be a lower-case FQDN of at least two labels (^[a-z][a-z0-9-]*(\\.[a-z][a-z0-9-]*)+$), at most 253 characters."
  }

  # Server names are hostnames (one RFC 1123 label, <= 63 characters) and
  # label values are <= 63 characters: the longest name is
  # catalyst-<fqdn-dashed>-hel1-w50, 18 characters around the FQDN.
  validation {
    condition     = length(var.sovereign_fqdn) <= 45
    error_message = "sovereign_fqdn must be at most 45 characters: Hetzner server names (catalyst-<fqdn-dashed>-<region>-w<N>) are limited to 63."
  }
}

variable "org_name" {
  description = "Name of the organisation that owns the Sovereign."
  type        = string
  nullable    = false

  validation {
    condition     = length(trimspace(var.org_name)) > 0
    error_message = "org_name must not be empty."
  }
}

variable "org_email" {
  description = "E-mail address of the Sovereign owner (the initial sovereign-admin)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.org_email))
    error_message = "org_email must be an e-mail address (name@domain.tld)."
  }
}

# --- Domain -------------------------------------------------------------------

variable "domain_mode" {
  description = "How the Sovereign's domain is managed: pool (subdomain of an operator pool), byo-manual (customer sets NS records), byo-api (registrar API)."
  type        = string
  nullable    = false

  validation {
    condition     = contains(["pool", "byo-manual", "byo-api"], var.domain_mode)
    error_message = "domain_mode must be one of pool, byo-manual, byo-api."
  }
}

variable "pool_domain" {
  description = "The operator pool domain (e.g. omani.works) when domain_mode is pool; empty otherwise."
  type        = string
  default     = ""
  nullable    = false

  validation {
    condition     = var.domain_mode == "pool" ? can(regex("^[a-z][a-z0-9-]*(\\.[a-z][a-z0-9-]*)+$", var.pool_domain)) : var.pool_domain == ""
    error_message = "pool_domain must be a domain name when domain_mode is pool, and empty otherwise."
  }
}

variable "sovereign_subdomain" {
  description = "The Sovereign's label under pool_domain when domain_mode is pool (sovereign_fqdn = <sovereign_subdomain>.<pool_domain>); empty otherwise."
  type        = string
  default     = ""
  nullable    = false

  validation {
    condition     = var.domain_mode == "pool" ? can(regex("^[a-z]([a-z0-9-]*[a-z0-9])?$", var.sovereign_subdomain)) && length(var.sovereign_subdomain) <= 63 : var.sovereign_subdomain == ""
    error_message = "sovereign_subdomain must be an RFC 1035 label (^[a-z]([a-z0-9-]*[a-z0-9])?$, at most 63 characters) when domain_mode is pool, and empty otherwise."
  }

  validation {
    condition     = var.domain_mode != "pool" || var.sovereign_fqdn == "${var.sovereign_subdomain}.${var.pool_domain}"
    error_message = "sovereign_fqdn must be <sovereign_subdomain>.<pool_domain> when domain_mode is pool."
  }
}

variable "registrar" {
  description = "Registrar whose API manages the domain when domain_mode is byo-api (cloudflare, namecheap, godaddy, ovh, dynadot); empty otherwise."
  type        = string
  default     = ""
  nullable    = false

  validation {
    condition     = var.domain_mode == "byo-api" ? contains(["cloudflare", "namecheap", "godaddy", "ovh", "dynadot"], var.registrar) : var.registrar == ""
    error_message = "registrar must be one of cloudflare, namecheap, godaddy, ovh, dynadot when domain_mode is byo-api, and empty otherwise."
  }
}

variable "registrar_token_secret_name" {
  description = "Name of the Secret in catalyst-system that receives registrar_token (byo-api). Not secret itself."
  type        = string
  default     = ""
  nullable    = false

  validation {
    condition     = var.registrar_token_secret_name == "" ? var.domain_mode != "byo-api" : can(regex("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", var.registrar_token_secret_name)) && length(var.registrar_token_secret_name) <= 253
    error_message = "registrar_token_secret_name must be a Kubernetes object name (lower-case RFC 1123 subdomain); it is required when domain_mode is byo-api."
  }
}

variable "registrar_token_secret_key" {
  description = "Key in that Secret under which registrar_token is stored (byo-api). Not secret itself."
  type        = string
  default     = ""
  nullable    = false

  validation {
    condition     = var.registrar_token_secret_key == "" ? var.domain_mode != "byo-api" : can(regex("^[-._a-zA-Z0-9]+$", var.registrar_token_secret_key)) && length(var.registrar_token_secret_key) <= 253
    error_message = "registrar_token_secret_key must be a Secret data key ([-._a-zA-Z0-9]+); it is required when domain_mode is byo-api."
  }
}

# --- Primary region -----------------------------------------------------------

variable "environment" {
  description = "Environment of the Sovereign: prod, stg, uat, dev or poc. Cluster names end with it."
  type        = string
  nullable    = false

  validation {
    condition     = contains(["prod", "stg", "uat", "dev", "poc"], var.environment)
    error_message = "environment must be one of prod, stg, uat, dev, poc."
  }
}

variable "region" {
  description = "Hetzner location of the primary region (management cluster): fsn1, nbg1, hel1, ash or hil."
  type        = string
  nullable    = false

  validation {
    condition     = contains(["fsn1", "nbg1", "hel1", "ash", "hil"], var.region)
    error_message = "region must be one of fsn1, nbg1, hel1, ash, hil."
  }
}

variable "cluster_name" {
  description = "Name of the primary region's cluster: {provider}-{region}-{mgt|dmz|rtz}-{environment}, e.g. hz-fsn-mgt-prod."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^(hz|hw|oci|aws|gcp|az)-[a-z]+-(mgt|dmz|rtz)-(prod|stg|uat|dev|poc)$", var.cluster_name))
    error_message = "cluster_name must match ^(hz|hw|oci|aws|gcp|az)-[a-z]+-(mgt|dmz|rtz)-(prod|stg|uat|dev|poc)$."
  }

  validation {
    condition     = endswith(var.cluster_name, "-${var.environment}")
    error_message = "cluster_name must end with -<environment>."
  }
}

variable "control_plane_size" {
  description = "Hetzner server type of the primary region's control-plane nodes (e.g. cpx32)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^(cx|cpx|ccx|cax)[0-9]+$", var.control_plane_size))
    error_message = "control_plane_size must be a Hetzner server type (^(cx|cpx|ccx|cax)[0-9]+$)."
  }
}

variable "worker_size" {
  description = "Hetzner server type of the primary region's worker nodes (e.g. cpx32)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^(cx|cpx|ccx|cax)[0-9]+$", var.worker_size))
    error_message = "worker_size must be a Hetzner server type (^(cx|cpx|ccx|cax)[0-9]+$)."
  }
}

variable "worker_count" {
  description = "Number of worker nodes in the primary region, 0 to 50 (0: workloads run on the control plane)."
  type        = number
  nullable    = false

  validation {
    condition     = var.worker_count >= 0 && var.worker_count <= 50 && floor(var.worker_count) == var.worker_count
    error_message = "worker_count must be a whole number from 0 to 50."
  }
}

variable "ha_enabled" {
  description = "Three control-plane nodes with embedded etcd in the primary region instead of one."
  type        = bool
  nullable    = false
}

variable "ssh_public_key" {
  description = "SSH public key installed on every server (ssh-rsa, ssh-ed25519 or ecdsa-sha2-nistp256)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^(ssh-rsa|ssh-ed25519|ecdsa-sha2-nistp256) [A-Za-z0-9+/]+=*( [^\\r\\n]*)?$", var.ssh_public_key))
    error_message = "ssh_public_key must be one OpenSSH public key line starting with ssh-rsa, ssh-ed25519 or ecdsa-sha2-nistp256."
  }
}

# --- GitOps and software ------------------------------------------------------

variable "gitops_repo_url" {
  description = "Where Flux reads the cluster directories: an https:// or ssh:// Git URL, or an oci:// artifact repository."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^(https|ssh|oci)://[^\\s]+$", var.gitops_repo_url))
    error_message = "gitops_repo_url must start with https://, ssh:// or oci:// and contain no whitespace."
  }
}

variable "gitops_branch" {
  description = "Git branch Flux follows; for an oci:// gitops_repo_url, the artifact tag."
  type        = string
  default     = "main"
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9._/-]+$", var.gitops_branch)) && !can(regex("\\.\\.", var.gitops_branch))
    error_message = "gitops_branch must be a branch or tag name ([A-Za-z0-9._/-], no \"..\")."
  }
}

variable "gitops_path" {
  description = "Path of the primary region's cluster directory in the repository (e.g. clusters/omantel.omani.works), relative, without \"..\"."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^(\\./)?[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*/?$", var.gitops_path)) && !can(regex("(^|/)\\.\\.(/|$)", var.gitops_path))
    error_message = "gitops_path must be a relative path ([A-Za-z0-9._-] segments separated by /) without \"..\"."
  }
}

variable "k3s_version" {
  description = "k3s release installed on every node, e.g. v1.31.4+k3s1."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^v[0-9]+\\.[0-9]+\\.[0-9]+\\+k3s[0-9]+$", var.k3s_version))
    error_message = "k3s_version must look like v1.31.4+k3s1."
  }
}

# --- Secondary regions --------------------------------------------------------

variable "secondary_regions" {
  description = "Further regions, each its own cluster (dmz + rtz). Resource names carry the region: catalyst-<fqdn-dashed>-<region>-..."
  type = list(object({
    region             = string
    cluster_name       = string
    control_plane_size = string
    worker_size        = string
    worker_count       = number
    ha_enabled         = bool
    gitops_path        = string
  }))
  default  = []
  nullable = false

  validation {
    condition     = alltrue([for r in var.secondary_regions : contains(["fsn1", "nbg1", "hel1", "ash", "hil"], r.region)])
    error_message = "secondary_regions[*].region must be one of fsn1, nbg1, hel1, ash, hil."
  }

  validation {
    condition     = alltrue([for r in var.secondary_regions : r.region != var.region]) && length(distinct([for r in var.secondary_regions : r.region])) == length(var.secondary_regions)
    error_message = "secondary_regions[*].region must differ from region and from each other."
  }

  validation {
    condition     = alltrue([for r in var.secondary_regions : can(regex("^(hz|hw|oci|aws|gcp|az)-[a-z]+-(mgt|dmz|rtz)-(prod|stg|uat|dev|poc)$", r.cluster_name)) && endswith(r.cluster_name, "-${var.environment}")])
    error_message = "secondary_regions[*].cluster_name must match ^(hz|hw|oci|aws|gcp|az)-[a-z]+-(mgt|dmz|rtz)-(prod|stg|uat|dev|poc)$ and end with -<environment>."
  }

  validation {
    condition     = length(distinct(concat([var.cluster_name], [for r in var.secondary_regions : r.cluster_name]))) == 1 + length(var.secondary_regions)
    error_message = "secondary_regions[*].cluster_name must differ from cluster_name and from each other."
  }

  validation {
    condition     = alltrue([for r in var.secondary_regions : can(regex("^(cx|cpx|ccx|cax)[0-9]+$", r.control_plane_size)) && can(regex("^(cx|cpx|ccx|cax)[0-9]+$", r.worker_size))])
    error_message = "secondary_regions[*].control_plane_size and worker_size must be Hetzner server types (^(cx|cpx|ccx|cax)[0-9]+$)."
  }

  validation {
    condition     = alltrue([for r in var.secondary_regions : r.worker_count >= 0 && r.worker_count <= 50 && floor(r.worker_count) == r.worker_count])
    error_message = "secondary_regions[*].worker_count must be a whole number from 0 to 50."
  }

  validation {
    condition     = alltrue([for r in var.secondary_regions : can(regex("^(\\./)?[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*/?$", r.gitops_path)) && !can(regex("(^|/)\\.\\.(/|$)", r.gitops_path))])
    error_message = "secondary_regions[*].gitops_path must be a relative path ([A-Za-z0-9._-] segments separated by /) without \"..\"."
  }
}

# --- Bootstrap Secrets of the GitOps source and the chart registry ------------
# The names come from the spec (rendered); the contents never do: they come
# from TF_VAR_* at apply time (below). Every Secret the rendered objects
# reference is created here or in the cluster directory: the closure check
# reads bootstrap-objects.yaml, which lists what this module creates.

variable "gitops_secret_name" {
  description = "Secret in flux-system with the credentials Flux reads the GitOps source with (spec.gitops.secretRef, or gitops.oci.secretRef); empty for a public source. Created from gitops_credentials. Not secret itself."
  type        = string
  default     = ""
  nullable    = false

  validation {
    condition     = var.gitops_secret_name == "" || (can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.gitops_secret_name)) && length(var.gitops_secret_name) <= 253)
    error_message = "gitops_secret_name must be a Kubernetes object name (lower-case RFC 1123), or empty."
  }
}

variable "registry_pull_secret_name" {
  description = "Secret in flux-system with the registry credentials the Blueprint charts are pulled with (spec.sources.pullSecret); empty for a public registry. Created from registry_pull_config. Not secret itself."
  type        = string
  default     = ""
  nullable    = false

  validation {
    condition     = var.registry_pull_secret_name == "" || (can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.registry_pull_secret_name)) && length(var.registry_pull_secret_name) <= 253)
    error_message = "registry_pull_secret_name must be a Kubernetes object name (lower-case RFC 1123), or empty."
  }
}

variable "cosign_secret_names" {
  description = "Secrets in flux-system with the cosign public keys Flux verifies charts and the GitOps artifact with (spec.sources.verify.secretRef, gitops.oci.verify.secretRef). Created from cosign_public_keys. Not secret themselves."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for n in var.cosign_secret_names : can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", n)) && length(n) <= 253])
    error_message = "cosign_secret_names[*] must be Kubernetes object names (lower-case RFC 1123)."
  }
}

variable "sigstore_root_secret_name" {
  description = "Secret in flux-system with the Sigstore trust root (key trusted_root.json) the rendered sources verify keyless signatures with (verify.trustedRootSecretRef): the catalog publisher's Sigstore, or after cutover the Sovereign's own. Empty: none (the public Sigstore)."
  type        = string
  default     = ""
  nullable    = false

  validation {
    condition     = var.sigstore_root_secret_name == "" || (can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.sigstore_root_secret_name)) && length(var.sigstore_root_secret_name) <= 253)
    error_message = "sigstore_root_secret_name must be a Kubernetes object name (lower-case RFC 1123), or empty."
  }
}

variable "sigstore_trusted_root" {
  description = "The trusted_root.json (as Sigstore publishes it, an object) put in the Secret sigstore_root_secret_name. Public: rendered by catalyst from the catalog's spec.publisher.keyless.trustedRoot or the spec's sources.verify.trustedRoot."
  type        = any
  default     = null
}

# --- Secrets: supplied at apply time, never rendered ----------------------------

variable "hcloud_token" {
  description = "Hetzner Cloud API token (read/write). Supplied as TF_VAR_hcloud_token at apply time; also written to the Secret hcloud-credentials (key token) in crossplane-system of every cluster."
  type        = string
  sensitive   = true
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9]{64}$", var.hcloud_token))
    error_message = "hcloud_token must be a Hetzner Cloud API token (64 letters and digits)."
  }
}

variable "registrar_token" {
  description = "Registrar API token for domain_mode byo-api. Supplied as TF_VAR_registrar_token at apply time; written to the Secret registrar_token_secret_name (key registrar_token_secret_key) in catalyst-system of the primary cluster."
  type        = string
  sensitive   = true
  default     = null

  validation {
    condition     = var.registrar_token == null ? true : length(trimspace(var.registrar_token)) > 0
    error_message = "registrar_token must not be empty when set."
  }
}

variable "gitops_credentials" {
  description = "Data of the Secret gitops_secret_name (username and password, or identity and known_hosts for ssh://, or .dockerconfigjson for an oci:// source). Supplied as TF_VAR_gitops_credentials at apply time; required when gitops_secret_name is set."
  type        = map(string)
  sensitive   = true
  default     = null
}

variable "registry_pull_config" {
  description = "The .dockerconfigjson of the Secret registry_pull_secret_name. Supplied as TF_VAR_registry_pull_config at apply time; required when registry_pull_secret_name is set."
  type        = string
  sensitive   = true
  default     = null
}

variable "cosign_public_keys" {
  description = "Data of each cosign_secret_names Secret: cosign public keys, one per key ending in .pub (public, but kept out of the spec). Supplied as TF_VAR_cosign_public_keys at apply time; required when cosign_secret_names is not empty."
  type        = map(string)
  default     = null
}
