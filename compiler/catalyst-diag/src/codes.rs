//! The registry of diagnostic codes.
//!
//! Every code a diagnostic can carry is a variant of [`Code`], declared once
//! in the table below with its stable kebab-case name, the severity it is
//! reported with, and an explanation for people (what it means, what to
//! do). The enum, its names, [`Code::ALL`], the groups and the reference
//! page `docs/diagnostics.md` ([`reference`]) all come from that table, so a
//! code cannot exist without its explanation, and control flow matches
//! variants, never strings.
//!
//! The names are an interface: JSON output, goldens and users' scripts
//! match on them. Renaming one is a breaking change.

use std::fmt;

use crate::Severity;

/// One group of the reference: the stage that reports its codes.
#[derive(Clone, Copy, Debug)]
pub struct Group {
    pub title: &'static str,
    /// A sentence or two on what the stage checks.
    pub about: &'static str,
    pub codes: &'static [Code],
}

macro_rules! severity {
    (error) => {
        Some(Severity::Error)
    };
    (warning) => {
        Some(Severity::Warning)
    };
    (either) => {
        None
    };
}

macro_rules! codes {
    ($( $title:literal, $about:literal {
        $( $variant:ident = $name:literal, $sev:ident, $doc:literal; )*
    } )*) => {
        /// The kind of a problem: a stable, kebab-case name (`as_str`) and
        /// its explanation. Serialized as its name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Code {
            $( $( $variant, )* )*
        }

        impl Code {
            /// Every code, in the order of the reference.
            pub const ALL: &'static [Code] = &[ $( $( Code::$variant, )* )* ];

            /// The codes by the stage that reports them, for the reference.
            pub const GROUPS: &'static [Group] = &[ $(
                Group { title: $title, about: $about, codes: &[ $( Code::$variant, )* ] },
            )* ];

            /// The stable name, as output shows it (`unknown-field`).
            pub const fn as_str(self) -> &'static str {
                match self { $( $( Code::$variant => $name, )* )* }
            }

            /// What it means and what to do about it, one paragraph.
            pub const fn explanation(self) -> &'static str {
                match self { $( $( Code::$variant => $doc, )* )* }
            }

            /// The severity it is reported with; `None` where that depends
            /// on the case (the explanation says which).
            pub const fn severity(self) -> Option<Severity> {
                match self { $( $( Code::$variant => severity!($sev), )* )* }
            }
        }
    };
}

codes! {
    "Input files", "Reading the files of a pull request: catalog, specs, charts, modules (`catalyst-fs`, `catalyst-yaml`)." {
        UnreadableFile = "unreadable-file", error, "An input file could not be read (missing, no permission, an I/O error). Check that the path exists and can be read by the user running catalyst.";
        InputOutsideRoot = "input-outside-root", error, "An input is reached through a symbolic link that leaves the repository (or the directory it was given in). Inputs come from pull requests and are read only inside their root: replace the link with the file itself.";
        NotARegularFile = "not-a-regular-file", error, "An input path is a FIFO, a device, a socket or a directory where a file was expected. catalyst never blocks on a FIFO or reads a device; replace it with a regular file.";
        FileTooLarge = "file-too-large", error, "An input (or standard input) is larger than the limit for one file. Inputs of this size are refused to bound memory and time; raise `--max-file-size` if the file is legitimate.";
        EmptyFile = "empty-file", error, "A Sovereign spec or a `blueprint.yaml` is empty. Write the document: a spec starts with `apiVersion: catalyst.openova.io/v1alpha1` and `kind: Sovereign`.";
        NotUtf8 = "not-utf8", error, "A YAML or HCL file is not valid UTF-8. Save it as UTF-8; the location points at the first invalid byte.";
        NotText = "not-text", error, "A YAML file holds a NUL byte, so it is a binary file, not text. Remove the NUL byte, or point catalyst at the right file.";
        InvalidYaml = "invalid-yaml", error, "A file is not valid YAML for catalyst's strict reader: a syntax error, a duplicate key, an alias bomb, nesting too deep, or a document that is not the expected shape. Fix the YAML at the location shown.";
        ControlCharacter = "control-character", error, "A value in a spec holds a control character (an escape sequence, a NUL, a bidirectional override). Specs hold plain text: remove it; the message names the field and the code point.";
    }
    "Schemas", "Documents checked against their JSON Schemas: specs, catalog files, rendered objects (`catalyst-schema`)." {
        UnknownField = "unknown-field", error, "A mapping has a field its schema does not define, usually a typo. Fix or remove the field; the help suggests the closest known name.";
        MissingField = "missing-field", error, "A required field is missing (a schema's `required`, or a rule that needs a field in this case). Add it; the help quotes the field's description.";
        WrongType = "wrong-type", error, "A value has the wrong type: a string where a number is wanted, a list where a mapping is, or an integer written with a fraction or exponent (`3.0`, `3e0`). Write the type the message names; quote a value meant as a string.";
        InvalidValue = "invalid-value", error, "A value is not allowed: not one of an enum, not matching a pattern, or breaking a rule of the schema or the catalog. Change it to an allowed value; the message says which rule.";
        OutOfRange = "out-of-range", error, "A number, string or list is outside its bounds (minimum, maximum, length, item count). Bring it within the bounds the message states.";
        DuplicateItem = "duplicate-item", error, "A list whose items must be unique lists one twice. Remove the repeated item.";
        SecretValue = "secret-value", error, "A secret (a password, a token, a private key) is written where only a reference to one belongs, or looks pasted into a spec or values file. Never put a secret in Git: write a `secretRef` and store the value in the secret store. The line is never printed past the start of the value.";
        ForbiddenKind = "forbidden-kind", error, "An object is of a kind catalyst never renders: a Secret (secret values stay in the secret store, and rendered objects only reference them). Reference the secret instead, through an ExternalSecret or a SealedSecret.";
        UnservedVersion = "unserved-version", error, "An object's `apiVersion` is not served by the release of its controller the Sovereign runs (per the version matrix). Write the version the help names, the one this release stores.";
        CelRule = "cel-rule", error, "An object breaks a CEL validation rule (`x-kubernetes-validations`) of its CRD, which the API server would enforce on create. Change the object so the rule holds; the message quotes the rule's own message.";
        CelUnsupported = "cel-unsupported", error, "A CRD's CEL rule uses something catalyst's evaluator cannot evaluate, so the object cannot be shown to satisfy it. It is reported, never passed: simplify the object or report the gap.";
    }
    "Sovereign spec", "The rules of `clusters/<fqdn>/sovereign.yaml` beyond its schema (`catalyst-spec`); the schema's `x-catalyst-rule`s carry these codes too." {
        InvalidFqdn = "invalid-fqdn", error, "A domain name in the spec is not a valid FQDN (labels, length, characters), or a derived name such as a pool's or an operator host's would not be. Fix the name the message points at.";
        FqdnTooLong = "fqdn-too-long", error, "The Sovereign's FQDN is too long for the names derived from it (Hetzner server names `catalyst-<fqdn-dashed>-<region>-w<N>` are limited to 63 characters). Choose a shorter FQDN.";
        ReservedSubdomain = "reserved-subdomain", error, "The subdomain chosen for the Sovereign is reserved: it would collide with an operator host. Choose another name.";
        FieldNotForMode = "field-not-for-mode", error, "A `spec.domain` field is set that the chosen domain mode does not use. Remove it, or choose the mode it belongs to.";
        ByoApiApex = "byo-api-apex", error, "Domain mode `byo-api` delegates the FQDN from its parent zone at the registrar, and an apex domain has no parent zone there. Use a subdomain of a zone the registrar holds, or mode `byo-manual`.";
        UnsupportedRegistrar = "unsupported-registrar", error, "Domain mode `byo-api` names a registrar catalyst cannot delegate through. Use one of the supported registrars the help lists, or mode `byo-manual`.";
        MissingCredentials = "missing-credentials", error, "Regions use a cloud provider whose credentials (`spec.credentials.<provider>`) are missing. Add the provider with secret references to its API credentials.";
        RegionCount = "region-count", error, "The topology's shape needs a given number of regions (more with airgap) and the spec lists another number. List as many regions as the shape needs, or choose another shape.";
        DuplicateRegion = "duplicate-region", error, "The same provider region is listed twice in `spec.topology.regions`. Each region of a Sovereign is listed once; remove the duplicate.";
        DuplicateEntry = "duplicate-entry", error, "A list or mapping of the spec names the same thing twice (for example a Blueprint configured under two spellings in `spec.blueprints`). Merge the two entries.";
        TetheredSource = "tethered-source", error, "The Sovereign is cut over, but a source (Git, charts, packages) still points outside its own domain. Point it at the Sovereign's own Gitea or Harbor.";
    }
    "Catalog", "Loading the Blueprint catalog: `catalog.yaml`, `platform/*/`, `products/*/` (`catalyst-catalog`). In the legacy dialects (short `v1`, chart-only) consistency errors of this group are reported as warnings." {
        EmptyCatalog = "empty-catalog", error, "No Blueprints were found under the catalog root. A catalog root holds `platform/<name>/` and `products/<name>/` folders; check `--catalog`.";
        NotABlueprint = "not-a-blueprint", warning, "A folder of the catalog has neither `blueprint.yaml` nor `chart/Chart.yaml`; it is skipped. Remove the folder or complete the Blueprint.";
        DuplicateBlueprint = "duplicate-blueprint", error, "Two folders define a Blueprint of the same name. Rename one of them; names are unique across the catalog.";
        InvalidName = "invalid-name", error, "A Blueprint's name (or its folder's) is not a valid name: lower-case letters, digits and hyphens, starting with `bp-`. Rename it.";
        LegacyName = "legacy-name", warning, "A Blueprint's name lacks the `bp-` prefix. Write `bp-<name>`.";
        NameFolderMismatch = "name-folder-mismatch", warning, "A Blueprint's name does not match the folder it lives in. Name it `bp-<folder>` or rename the folder.";
        NameMismatch = "name-mismatch", error, "The chart's `Chart.yaml` name differs from the Blueprint's name. Name the chart after the Blueprint.";
        LegacyDialect = "legacy-dialect", warning, "A Blueprint uses the short `v1` dialect. Rewrite it in the canonical `catalyst.openova.io/v1alpha1` dialect with a `bp-` name and the full spec.";
        MissingBlueprintYaml = "missing-blueprint-yaml", warning, "A catalog folder has a chart but no `blueprint.yaml` (the legacy chart-only form). Add `blueprint.yaml` in the canonical dialect.";
        MissingChart = "missing-chart", error, "A Blueprint has no `chart/Chart.yaml`. Every Blueprint is a Helm umbrella chart in `chart/`.";
        InvalidVersion = "invalid-version", error, "A Blueprint's `spec.version` is missing or not a semantic version. Write a version such as `1.4.2`.";
        VersionMismatch = "version-mismatch", error, "A Blueprint declares one version and its chart's `Chart.yaml` another. Keep the two equal.";
        PathOutsideBlueprint = "path-outside-blueprint", error, "A path in `blueprint.yaml` (such as `spec.manifests.chart`) leaves the Blueprint's folder. Write a path inside the folder, such as `./chart`.";
        UndeclaredDepends = "undeclared-depends", warning, "A Blueprint does not declare `spec.depends`, so its place in the graph is unknown. Write `depends: []` when it has no dependencies.";
        LegacyDepends = "legacy-depends", warning, "A dependency is written as a bare name, so its version is not checked. Write `- blueprint: <name>` with `version: ^<major>.<minor>`.";
        InvalidVersionRange = "invalid-version-range", error, "A dependency's `version` is not a semver range. Write a range such as `^1.4` or `>=1.2, <2`.";
        InvalidUpgradeRange = "invalid-upgrade-range", error, "An entry of a Blueprint's `upgrades` is neither a version nor a range. Write a version (`1.4.2`) or a range (`1.4.x`, `>=1.2, <1.4`).";
        UnknownDependency = "unknown-dependency", error, "A Blueprint depends on a Blueprint that is not in the catalog. Fix the name (the help suggests a close one) or add the Blueprint. Reported as an error in every dialect.";
        BrokenDependency = "broken-dependency", error, "A Blueprint depends on a Blueprint that exists but could not be loaded. Fix that Blueprint's own errors first.";
        VersionRangeUnsatisfied = "version-range-unsatisfied", error, "A Blueprint needs a version range of another that the catalog's version of it does not satisfy. Widen the range or update the dependency.";
        BlueprintPinMismatch = "blueprint-pin-mismatch", error, "A Blueprint's chart depends on another Blueprint's chart at a version other than the catalog's. Pin the version the catalog has.";
        DuplicateMember = "duplicate-member", error, "A Blueprint is a member of two product families. A Blueprint belongs to one family; remove it from the other.";
        UnknownMember = "unknown-member", error, "A product family lists a Blueprint that is not in the catalog, or one that could not be loaded. Fix the name or the Blueprint.";
        InvalidConfigSchema = "invalid-config-schema", error, "A Blueprint's `spec.configSchema` is not a valid JSON Schema. Fix the schema; render skips the Blueprint's configuration while it is broken.";
        InvalidDefault = "invalid-default", error, "A `default` in a configSchema does not satisfy its own schema. Make the default match the property's type, enum and bounds.";
        InvalidValuesSchema = "invalid-values-schema", error, "A chart's `values.schema.json` is not JSON or not a valid JSON Schema. Fix the file.";
        MissingValues = "missing-values", warning, "A Blueprint's chart has no `values.yaml`. Record the upstream pin under `catalystBlueprint.upstream` and curate values under the dependency's name.";
        MissingUpstreamPin = "missing-upstream-pin", either, "A chart's `values.yaml` has no `catalystBlueprint.upstream` block, or it names no chart and lists no images. Record `{chart, version, repo}` of the upstream chart there. A warning when the block is missing, an error when it names nothing.";
        UpstreamPinMismatch = "upstream-pin-mismatch", error, "The upstream pin in `values.yaml` disagrees with `Chart.yaml`'s dependencies (another version, or a chart it does not depend on). Keep the pin and the dependency equal.";
        ObservabilityDefaultOn = "observability-default-on", error, "An observability toggle (a ServiceMonitor, a PrometheusRule) defaults to true or is switched on in the values overlay. Those CRDs arrive after the charts that would create them: default the toggle to false and wire it to a config property.";
        DomainHygiene = "domain-hygiene", error, "A file names a host that must not appear: an `admin.` host, the wrong pool TLD, or a literal domain where a template belongs. Template it from the Sovereign (`{{ sovereign.fqdn }}`, `{{ sovereign.hosts.<name> }}`).";
        Placeholder = "placeholder", error, "A value holds a placeholder (`${...}`, `PLACEHOLDER`) that nothing substitutes. Write the real value, or a template the compiler fills from the Sovereign spec.";
        UnreadableChart = "unreadable-chart", error, "A vendored chart archive in `charts/` cannot be read. Vendor it again with `catalyst package`.";
        HollowChart = "hollow-chart", error, "A Blueprint's umbrella chart declares no upstream chart, or the declared upstream is not vendored in `charts/`, so it would install nothing. Declare the dependency and vendor it (`catalyst package`).";
        InvalidChart = "invalid-chart", error, "A chart is malformed: `Chart.yaml` empty or missing name or version, a dependency's name or version that would not stay a plain file name, or an archive Helm would not load. Fix what the message names.";
        InvalidXrd = "invalid-xrd", error, "An XRD (CompositeResourceDefinition) of the catalog has no `openAPIV3Schema`, or its schema does not compile. Fix the XRD.";
        MissingComposition = "missing-composition", error, "An XRD has no Composition composing its kind, so its claims would never be served. Add the Composition, or remove the XRD.";
        OrphanComposition = "orphan-composition", error, "A Composition composes a kind that no XRD of the catalog defines. Fix its `compositeTypeRef`, or add the XRD.";
    }
    "Version matrix", "`catalog.yaml spec.runtime`: the exact release of every runtime controller and what installs it (`catalyst-catalog`)." {
        DuplicateController = "duplicate-controller", error, "A controller is listed twice in the version matrix. One entry per controller.";
        DuplicateApiGroup = "duplicate-api-group", error, "An API group is claimed by two controllers of the version matrix. A group's CRDs come from one controller; remove it from the other.";
        UnknownController = "unknown-controller", error, "A cloud provider of the catalog names a controller that is not a Provider package of the version matrix. Add the package to `spec.runtime`, or fix the name.";
        MatrixUnknownBlueprint = "matrix-unknown-blueprint", error, "The version matrix says a controller is installed by a Blueprint that is not in the catalog. Fix the Blueprint's name.";
        MatrixChartPin = "matrix-chart-pin", error, "The version matrix says a Blueprint installs a controller from a chart, and the Blueprint's `Chart.yaml` does not depend on that chart or pins another version. Make the pin and the matrix agree.";
        MatrixAppVersion = "matrix-app-version", error, "A vendored chart runs another version of a controller than the version matrix says (its `appVersion`). Vendor the chart release that runs the matrix's version, or update the matrix.";
        MatrixPhase0Pin = "matrix-phase0-pin", error, "Phase-0 (`infra/hetzner`) installs a controller at another version than the version matrix says, or the local the matrix reads does not exist. Make the module's locals and the matrix agree.";
        MatrixPhase0Unlisted = "matrix-phase0-unlisted", error, "Phase-0 pins a version in a local that no entry of the version matrix reads. Add the controller to `spec.runtime` so its objects are checked against that release.";
    }
    "Releases and publisher", "Release records (`releases/<bp>/<version>.yaml`) and the publisher policy (`catalog.yaml spec.publisher`)." {
        BadReleaseRecord = "bad-release-record", error, "The `releases/` folder or a record in it cannot be used (not a folder, too many records, unreadable or malformed). Records are written by `catalyst release`: restore the record it wrote.";
        ReleaseRecordMismatch = "release-record-mismatch", error, "A release record's Blueprint or version disagrees with the path it lives at (`releases/<blueprint>/<version>.yaml`). Restore the record `catalyst release` wrote.";
        ReleaseElsewhere = "release-elsewhere", warning, "A release record says the chart was published to another registry than the catalog's, which render points Flux at. Release it to the catalog's registry too, so the pinned digest is there.";
        ReleaseSignerMismatch = "release-signer-mismatch", error, "A release was (or would be) signed otherwise than `spec.publisher` expects, so Flux would refuse the chart its record pins. Sign as the publisher policy says, or change the policy.";
        InvalidPublisher = "invalid-publisher", error, "`spec.publisher` cannot be used: neither or both of `key` and `keyless`, or a malformed identity. Write exactly one of them, as the help shows.";
        InvalidTrustedRoot = "invalid-trusted-root", error, "A Sigstore trust root (`spec.publisher.keyless.trustedRoot`, or a Sovereign's) is missing, unreadable or not a `trusted_root.json`. Give the trusted root of the Sigstore that signs, as it publishes it.";
        InvalidVerify = "invalid-verify", error, "A Sovereign's own keyless policy (`spec.sources.verify.keyless`) holds an issuer or subject pattern that is not a regular expression. Write a Go (RE2) regular expression, as Flux's source-controller compiles it.";
        UnreleasedBlueprint = "unreleased-blueprint", warning, "A Blueprint's version has no release record, so its OCIRepository follows the tag, not a digest, and is not verified against the publisher. Release the version (`catalyst release`).";
    }
    "Resolution", "From a Sovereign's selection to its install set (`catalyst-resolve`)." {
        UnknownBlueprint = "unknown-blueprint", error, "A selection or `spec.blueprints` names a Blueprint that is not in the catalog. Fix the name (the help suggests a close one); `catalyst graph --catalog` lists them.";
        UnknownFamily = "unknown-family", error, "A selection names a product family that does not exist. Fix the name; the help suggests a close one.";
        ContradictorySelection = "contradictory-selection", error, "A Blueprint is both included and excluded. Keep it in one of `components.include` and `components.exclude`.";
        CannotExclude = "cannot-exclude", error, "An excluded Blueprint cannot be left out (it is mandatory, or what the selection needs). Remove it from `components.exclude`.";
        ExcludedDependency = "excluded-dependency", error, "A selected Blueprint needs one that is excluded. Drop the dependency from `components.exclude`, or the Blueprint that needs it from the selection.";
        NoEffect = "no-effect", warning, "A Blueprint is excluded but nothing selects it, so the exclusion does nothing. Remove it from `components.exclude`.";
        DependencyCycle = "dependency-cycle", error, "Blueprints depend on each other in a cycle (the message shows the path). Flux cannot order a cycle: remove one dependency, or split a Blueprint.";
        InvalidCondition = "invalid-condition", error, "The `when:` expression of a conditional dependency fails to evaluate for this Sovereign. Fix the expression in the Blueprint.";
        Dropped = "dropped", warning, "A Blueprint is left out of the install set because it needs one that is excluded. Include the dependency if the Blueprint is wanted.";
    }
    "Render", "A Sovereign's render: configuration, placement, values, day-2 objects and DNS, and the checks of what it writes (`catalyst-render`)." {
        UnusedConfiguration = "unused-configuration", warning, "`spec.blueprints` configures a Blueprint that is not selected, so its configuration is ignored. Add it to `spec.components.include`, or remove the entry.";
        NoConfigSchema = "no-config-schema", error, "A Blueprint is given configuration, but it takes none (it has no `configSchema`). Remove the `config` entry.";
        TemplateError = "template-error", error, "A template in a Blueprint's values overlay failed to evaluate for this Sovereign (an unknown variable, a type error). Fix the expression at the location shown; the Blueprint is not rendered while it fails.";
        InternalTemplate = "internal-template", error, "A file render built does not read back as YAML. This is a compiler bug: please report it with the input.";
        ValuesSchema = "values-schema", error, "The values rendered for a Blueprint break its chart's `values.schema.json`. Change the configuration, or the overlay, so the values fit the schema.";
        InvalidPlacement = "invalid-placement", error, "A Blueprint is placed in a mode its placementSchema does not allow, or is given `regions` where its mode takes none. Choose an allowed mode, or remove `regions`.";
        PlacementConflict = "placement-conflict", error, "Blueprints that depend on a single-region Blueprint run in several regions, so it would have to run there too. Place the dependents in one region, or allow the Blueprint more.";
        TooFewRegions = "too-few-regions", error, "A Blueprint needs more regions than the Sovereign has, or than it is placed in (`placementSchema.minRegions`). Add regions, or place it in more of them.";
        TooManyRegions = "too-many-regions", error, "A Blueprint runs in more regions than its `placementSchema.maxRegions`. Place it in fewer.";
        UnknownRegion = "unknown-region", error, "A Blueprint is placed in a region the Sovereign does not have. Use one of the Sovereign's regions, which the help lists.";
        ClusterNameClash = "cluster-name-clash", error, "Two regions give the same host cluster name (`{provider}-{region}`). Give each region a distinct name.";
        ClustermeshNodeport = "clustermesh-nodeport", error, "A values overlay exposes the ClusterMesh API server as a NodePort. It is exposed as a LoadBalancer through the DMZ, never on a node port: remove the setting.";
        NoClaims = "no-claims", warning, "`bp-crossplane-claims` is not selected, so no day-2 claims (clusters, pools) are rendered. Select it to manage the Sovereign's infrastructure after Phase 0.";
        NoDns = "no-dns", warning, "`bp-external-dns` is not selected, so the Sovereign's DNS records are not rendered. Select it, or manage the records by hand.";
        NoProvider = "no-provider", warning, "The catalog has no Crossplane provider for a cloud the Sovereign's regions use, so those regions get no day-2 claims. Add it under `spec.providers` in `catalog.yaml`.";
        NoPhase0Module = "no-phase0-module", warning, "A region is on a cloud that has no Phase-0 module (only `infra/hetzner` exists), so Phase 0 does not provision it. Provision it by other means, or add the module.";
        MissingXrd = "missing-xrd", warning, "The catalog carries no XRD for a claim kind render would write, so that claim is not rendered. Add the XRD to the Blueprint that serves the claims.";
        MissingK3sVersion = "missing-k3s-version", error, "`catalog.yaml` has no `spec.kubernetes.k3sVersion`, which cluster claims need. Add it (`kubernetes: {k3sVersion: v1.31.4+k3s1}`).";
        ComposedInvalid = "composed-invalid", error, "A resource a Composition composes from a rendered claim is refused by its provider's CRD. Fix the claim or the Composition so the composed resource is valid.";
        ComposedUnknownKind = "composed-unknown-kind", error, "A Composition composes a resource of a kind that no CRD of the version matrix serves. Fix the Composition, or add the provider to the matrix.";
        Phase0ObjectInvalid = "phase0-object-invalid", error, "An object Phase 0 creates from this Sovereign's variables is refused by its schema. Fix the Sovereign's values the message names.";
        UnservedKind = "unserved-kind", error, "Render cannot write an object because the controller release the version matrix names has no schema for it in `schemas/rendered`. Name a release of the controller that `schemas/rendered` holds.";
        UnsupportedRelease = "unsupported-release", error, "The version matrix names a controller release render cannot write for safely (a Flux whose Kustomization cannot wait for Crossplane packages). Use a newer release.";
        SecretInOutput = "secret-in-output", error, "A rendered file holds a value that looks like a secret (a configuration value or overlay put it there). Never render secrets: reference them from the secret store.";
    }
    "Compositions", "Crossplane Compositions, checked offline against their XRDs and run on rendered claims (`catalyst-compose`)." {
        CompositionInvalid = "composition-invalid", error, "A Composition is malformed: no `compositeTypeRef`, no pipeline steps, a resource without a name, a patch without what it needs. Fix what the message names.";
        CompositionUnsupported = "composition-unsupported", error, "A Composition uses what catalyst does not evaluate (not `mode: Pipeline`, another function than function-patch-and-transform, a patch or transform type outside the subset). Use the supported subset (docs/limits.md).";
        CompositionBrokenPath = "composition-broken-path", error, "A patch of a Composition reads or writes a path its XRD's schema does not define. Fix the path.";
        CompositionTransformType = "composition-transform-type", error, "A transform of a Composition gets a value of another type than it takes (from the XRD's schema). Fix the patch, or add a convert transform.";
        CompositionRequiredMissing = "composition-required-missing", error, "A composed resource requires a field the claim does not set, so Crossplane would not compose it. Set the field in the claim, or give it a default in the XRD.";
        CompositionTransformFailed = "composition-transform-failed", error, "A transform of a Composition fails on the rendered claim's values (no map entry, a bad format). Fix the claim's value or the transform.";
    }
    "OpenTofu", "Phase-0 variables checked against the module's variable blocks (`catalyst-tofu`)." {
        TofuParse = "tofu-parse", error, "A `.tf` file of the Phase-0 module is not valid HCL. Fix the syntax at the location shown.";
        TofuInvalidVariable = "tofu-invalid-variable", error, "A `variable` block cannot be understood: no or several labels, an invalid type constraint, a malformed attribute. Fix the block.";
        TofuDuplicateVariable = "tofu-duplicate-variable", error, "A variable is declared twice in the module. Remove one declaration.";
        TofuUnknownVariable = "tofu-unknown-variable", either, "A value is rendered (an error) or supplied from the environment (a warning) for a variable the module does not declare. Declare it in `variables.tf`, or stop setting it.";
        TofuMissingVariable = "tofu-missing-variable", error, "A required variable (one without a default) is not set. Render it, or give it a default.";
        TofuTypeMismatch = "tofu-type-mismatch", error, "A rendered value does not match its variable's type, or is null for a variable that is not nullable. Render the declared type.";
        TofuConversion = "tofu-conversion", warning, "A rendered value only fits its variable through Terraform's implicit conversion (a number as a string, ...). Render the declared type.";
        TofuValidation = "tofu-validation", error, "A variable's `validation` condition fails for the rendered value, or fails to evaluate. Fix the value; the message carries the validation's own error message.";
        TofuUnsupported = "tofu-unsupported", warning, "A variable's `validation` uses a function or expression catalyst cannot evaluate offline. `tofu plan` still checks it; keep validations to the supported functions to have them checked at render.";
        InvalidBootstrapList = "invalid-bootstrap-list", error, "The module's `bootstrap-objects.yaml` is malformed: no `objects` list, or an object without `apiVersion`, `kind`, name and scope. Fix the list.";
    }
    "Closure", "Each host cluster directory as a closed world: what it references exists, in time (`catalyst-closure`, docs/closure.md)." {
        ClosureDanglingRef = "closure-dangling-ref", error, "An object references another (a Secret, a ConfigMap, a ProviderConfig, a source) that nothing on this cluster creates, so it would fail to apply or to reconcile. Create it in the directory, or have Phase 0 create it and list it in `bootstrap-objects.yaml`.";
        ClosureLatentRef = "closure-latent-ref", warning, "What an installed component would reference (a claim created later) is not created on this cluster; nothing applied now fails on it. Create it, or fix the reference before it is used.";
        ClosureNoCrd = "closure-no-crd", error, "A custom resource's CRDs are not installed on its cluster: no controller of the version matrix serves the group, or the one that does is not there. Add the controller to the cluster, or move the object.";
        ClosureCrdOrder = "closure-crd-order", error, "A custom resource may be applied before its CRDs exist (its Kustomization does not depend on the one installing them). Add the dependency.";
        ClosureDependsOn = "closure-depends-on", error, "A Flux object's `dependsOn` names an object that is not on this cluster, so Flux waits for it forever. Name one that is, or remove the dependency.";
        ClosureMissingResource = "closure-missing-resource", error, "A `kustomization.yaml` lists a resource that is not in the directory: kustomize build fails and Flux applies nothing of the folder. Fix the list.";
        ClosureUnconsumed = "closure-unconsumed", error, "A ConfigMap or ProviderConfig is rendered but nothing on the cluster reads it (no reference from an applied object or an installed component). Do not render it, or reference it from what should read it (`valuesFrom`, a claim's `providerConfigRef`).";
        ClosureUnchecked = "closure-unchecked", warning, "Part of the closure check could not run: the catalog has no version matrix, or no Phase-0 bootstrap list was found. Add what the message names to have it checked.";
    }
    "Cluster directories", "Writing, checking and pruning rendered cluster directories, and checking hand-written ones against the catalog (`catalyst-ops`)." {
        OutputNotDirectory = "output-not-directory", error, "The output path exists and is not a directory. Choose another output directory.";
        OutputNotOwned = "output-not-owned", error, "The output directory holds files catalyst did not write and no lock file, so render refuses to replace it. Move the files away, or render elsewhere.";
        UnreadableOutput = "unreadable-output", error, "A cluster directory (or its lock) cannot be read, or changed while it was read. Check permissions, and render again.";
        OutputCollision = "output-collision", error, "Two Sovereign specs render into the same directory (they share an FQDN). Give each Sovereign its own FQDN.";
        FolderMismatch = "folder-mismatch", error, "A spec lives in `clusters/<folder>/` but its FQDN names another folder. Move the spec, or fix the FQDN.";
        SpecConflict = "spec-conflict", either, "Another spec for the same Sovereign already sits in the output directory, and rendering this one there would not match it. Render that spec instead, or choose another output. An error from `render`, a warning from `validate` (the copy is valid on its own).";
        StaleOutput = "stale-output", error, "`render --check`: a rendered file differs from what render would write now. Render and commit.";
        NotRendered = "not-rendered", error, "A directory is not a rendered cluster directory (no lock), or a Sovereign has never been rendered. Run `catalyst render` first.";
        OrphanOutput = "orphan-output", either, "A rendered cluster directory has no Sovereign spec any more. Run `catalyst render --prune` to remove it, or restore the spec. An error under `render --check`, a warning otherwise.";
        KeptEditedOutput = "kept-edited-output", warning, "A file the lock lists was edited since the last render, so catalyst kept it instead of removing it. catalyst removes only files it wrote, unchanged: remove it by hand if it is not wanted.";
        PruneRefused = "prune-refused", error, "`--prune` did not remove a directory because it holds what catalyst did not write, or not as it wrote it, or cannot be read. Look at the files named, and remove them by hand if intended.";
        PinMismatch = "pin-mismatch", error, "A hand-written HelmRelease pins another chart version than the catalog has. Pin the catalog's version, or render the directory.";
        DependsMismatch = "depends-mismatch", error, "A HelmRelease's `dependsOn` disagrees with its Blueprint's declared dependencies. Make them agree.";
        UnknownRelease = "unknown-release", warning, "A HelmRelease in a hand-written directory matches no Blueprint in the catalog, so it is not checked. Name it after its Blueprint.";
        NoSchema = "no-schema", warning, "An object of a hand-written directory has no schema catalyst knows, so it is not checked. Nothing to do unless it should be.";
        NothingChecked = "nothing-checked", warning, "A directory given to `validate` holds no HelmRelease to check against the catalog. Pass a cluster directory or a Sovereign spec.";
        PlaintextSecret = "plaintext-secret", error, "A Secret with data is committed in plain text. No plaintext secrets in Git: use a SealedSecret or an ExternalSecret that references the secret store.";
        Substitution = "substitution", warning, "A value relies on Flux post-build substitution (`${...}`), so nothing in Git shows what it resolves to. A rendered cluster directory holds real values.";
        UpgradeNotAllowed = "upgrade-not-allowed", error, "A Blueprint's new version is not an allowed upgrade from the version a Sovereign's lock records (its `upgrades`). Upgrade through the versions allowed, one render each.";
        ChartChangedWithoutBump = "chart-changed-without-bump", error, "A chart's content changed since a revision, but its version did not rise. Published versions are immutable: bump the chart's version (`Chart.yaml` and `blueprint.yaml`).";
        InstalledNotShown = "installed-not-shown", warning, "`diff` cannot show what a changed chart installs (no `helm` binary, or no scratch directory). Install helm (or set `HELM`) to see the objects.";
    }
    "Charts and dependencies", "Packaging charts and vendoring their dependencies (`catalyst-package`, `catalyst-vendor`)." {
        SmokeRender = "smoke-render", error, "`helm template` failed on a chart with its default values, or could not be run. Render the chart locally (`helm template x <chart>`) and fix what it reports, or install helm.";
        DependencyUnavailable = "dependency-unavailable", error, "A chart dependency cannot be fetched: the repository or mirror is wrong, or has no such chart or version. Fix the repository in `Chart.yaml` or the mirror.";
        TamperedDependency = "tampered-dependency", error, "A fetched dependency archive does not match `Chart.lock`'s digest or the repository index's. Refused: find out why the archive changed before trusting it.";
        WrongDependency = "wrong-dependency", error, "The archive fetched for a dependency is another chart or version than asked for. Check the repository (or its mirror) serves what `Chart.yaml` names.";
        LockOutOfDate = "lock-out-of-date", error, "A chart's `Chart.lock` does not match the dependencies its `Chart.yaml` declares. Run `catalyst package --update-lock` (or `helm dependency update`) to resolve them again.";
        UpstreamSignatureUnsupported = "upstream-signature-unsupported", error, "A signer is declared for an upstream chart that comes from a Helm chart repository (https://), which carries no cosign signature. Take the chart from the upstream's OCI registry, or drop the declaration if the upstream is not signed.";
        InvalidMirrors = "invalid-mirrors", error, "A mirrors file is malformed: an entry lacks `from` or `to`. Write `mirrors: [{from: <upstream>, to: <mirror>}]`.";
        InvalidUpstreamSigners = "invalid-upstream-signers", error, "The upstream signers of a Blueprint (who must have signed its upstream charts) are malformed. Write each as `{repository, chart, key}` or `{repository, keyless: {issuer, subject}}`.";
        UpstreamSignature = "upstream-signature", error, "An upstream chart is not signed as its signers declare, or no verifier is configured. Refused: check the chart's provenance, or the declared signer.";
        Unwritable = "unwritable", error, "A file cannot be written (a vendored archive, `Chart.lock`, a cache entry). Check the permissions and the free space.";
    }
    "Registries and signing", "Pushing, pulling, signing and verifying in OCI registries, keyless through Sigstore (`catalyst-oci`, `catalyst-sign`, `catalyst-sigstore`, `catalyst-ops`). Transient codes exit with 3." {
        NetworkUnreachable = "network-unreachable", error, "A server (a registry, a chart repository, a Git server) could not be reached: connection refused, a name that does not resolve, a connection cut. Transient: nothing is wrong with the input, try again later.";
        RegistryTimeout = "registry-timeout", error, "A registry operation did not finish within `--registry-timeout`. Transient: try again later, or raise the timeout.";
        RegistryUnavailable = "registry-unavailable", error, "The registry answered that it is busy or down (HTTP 429, 502, 503 or 504) on every try. Transient: try again later.";
        RegistryTls = "registry-tls", error, "The TLS connection to a registry failed: it speaks plain HTTP, or its certificate is not trusted. Not transient: pass `--plain-http` or `--ca-file` as the help says.";
        RegistryUnauthorized = "registry-unauthorized", error, "The registry refused the credentials, or asked for some and got none. Log in (Docker's config, a credential helper, or the environment) with an account that may do this.";
        RegistryError = "registry-error", error, "The registry answered something other than what the distribution API promises (an error status, a malformed manifest). The message quotes the server; check the registry.";
        NotFound = "not-found", error, "The artifact the reference names does not exist in the registry. Check the reference, and that it was pushed.";
        BadReference = "bad-reference", error, "A reference is not `registry/repository[:tag][@digest]`. Write it in that form.";
        DigestMismatch = "digest-mismatch", error, "The registry answered a request by digest with content of another digest. The registry is broken or tampered with: nothing was signed or verified.";
        BadKey = "bad-key", error, "A signing or verification key cannot be used: unreadable, not a cosign key, or a wrong password. Check the key (the file or `env://VAR`) and `COSIGN_PASSWORD`.";
        NoSignature = "no-signature", error, "The artifact has no signature (of this key, or of this identity). Sign it, or verify with the key or identity that signed it.";
        BadSignature = "bad-signature", error, "A signature on the artifact does not verify with this key or identity, or does not describe this content. Do not trust the artifact; sign it again if it is yours.";
        NoAttestation = "no-attestation", error, "The artifact has no attestation (SBOM or provenance) of the kind asked for. Release it again with attestations.";
        BadAttestation = "bad-attestation", error, "An attestation on the artifact does not verify with this key or identity, or describes other content. Do not trust it; attest again if it is yours.";
        NoTlogEntry = "no-tlog-entry", error, "A signature has no transparency-log entry the trusted root vouches for, and one is required. Sign again with Rekor configured.";
        NoTrustedRoot = "no-trusted-root", error, "A keyless signer is declared, but no Sigstore trust root was given to verify it. Pass `--trusted-root FILE` (or `CATALYST_TRUSTED_ROOT`).";
        IdentityToken = "identity-token", error, "No OIDC identity token for keyless signing, or one that cannot be used. Provide one (a file, standard input, `SIGSTORE_ID_TOKEN`, or the CI's token service).";
        SigstoreConfig = "sigstore-config", error, "The Sigstore configuration is missing or unreadable (Fulcio and Rekor URLs, a signing config, a trust root). Give it as the message says.";
        SigstoreUnavailable = "sigstore-unavailable", error, "Fulcio, Rekor or a token service failed or did not answer in time. Try again later, or check the service.";
        PullBackMismatch = "pull-back-mismatch", error, "An artifact pulled back right after its push differs from what was pushed, or is missing. The registry or a proxy changed it: do not use this version.";
        PullBackFailed = "pull-back-failed", error, "An artifact could not be pulled back after its push to check it. Check the registry, and push again.";
        VersionPublished = "version-published", error, "This version is already published with different content. Published versions are immutable: bump the chart's version.";
        ReleaseFailed = "release-failed", error, "Some Blueprints were not released (a summary: the reasons are the other errors). Fix those and release again.";
        ReleaseRecordDiffers = "release-record-differs", error, "A release record already records another release of this version. Versions are immutable: release a new version.";
        ReleaseRecordIo = "release-record-io", error, "A release record cannot be read or written. Check the permissions of `releases/`.";
        UncommittedSource = "uncommitted-source", warning, "The chart was built from a work tree with uncommitted changes, so the provenance names no source revision. Release from a clean checkout.";
        NoSourceRevision = "no-source-revision", warning, "The chart is not in a Git work tree with a commit, so the provenance names no source revision. Build from a Git checkout.";
    }
    "Git publishing", "Pushing rendered directories to a Git repository (`catalyst-publish`)." {
        GitUnauthorized = "git-unauthorized", error, "The Git server refused the credentials, or asked for some and got none. Provide credentials that may push to the repository.";
        GitPushDeclined = "git-push-declined", error, "The Git server declined the push (a hook, a protected branch); the message quotes its reason. Fix what the server asks for.";
        GitTls = "git-tls", error, "The TLS connection to the Git server failed: its certificate is not trusted. Pass `--ca-file` with its CA.";
        GitError = "git-error", error, "A Git operation failed for another reason; the message and its causes say which. Check the repository and the branch.";
        RemoteChanged = "remote-changed", error, "A directory changed on the remote branch after catalyst checked it (someone else pushed to it), so nothing was committed. Run again against the new state.";
        InvalidBranch = "invalid-branch", error, "A name cannot be a Git branch by Git's ref rules. The branch is named after the Sovereign: fix the name, and render again.";
        PublishRefused = "publish-refused", error, "`publish` did not remove a directory from the repository: its spec is gone but it holds what catalyst did not write, or the workspace has no Sovereign at all. Look at the files named, and remove them by hand if intended.";
    }
    "Audit", "Tethers of a rendered cluster directory and the cut-over policy (`catalyst-audit`)." {
        CutoverViolation = "cutover-violation", error, "A cut-over Sovereign still depends on something outside its own domain (the mothership's Git, charts or packages). Point the source at the Sovereign's own Gitea or Harbor.";
        InvalidCutover = "invalid-cutover", error, "`spec.sources.cutover` is not `true` or `false`. Write the boolean without quotes.";
    }
    "Command line", "Errors that end a run before a report (`catalyst-cli`). They exit with 2." {
        Usage = "usage", error, "The command line is wrong: a bad flag, a missing argument, a path of the wrong kind. The help line says what to write.";
        Locked = "locked", error, "Another catalyst run holds the repository for longer than `--lock-timeout`. Wait for it, or raise the timeout.";
        IoError = "io-error", error, "An operating system error ended the run (a file that cannot be read or written). The causes say which.";
        WriteError = "write-error", error, "Writing a cluster directory failed. The causes say why (permissions, free space, a path in the way).";
        Internal = "internal", error, "Something that should not fail did. This is a bug: please report it with the command and the input.";
    }
}

impl Code {
    /// The code named `name`, if there is one.
    pub fn parse(name: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.as_str() == name)
    }

    /// The group of the reference the code is in.
    pub fn group(self) -> &'static Group {
        Code::GROUPS.iter().find(|g| g.codes.contains(&self)).expect("every code is in a group")
    }

    /// Whether this is a failure to reach a server (connection refused, a
    /// name that does not resolve, a timeout): nothing is wrong with the
    /// input, trying again later may work. The CLI gives these their own
    /// exit code.
    pub const fn is_transient(self) -> bool {
        matches!(self, Code::NetworkUnreachable | Code::RegistryTimeout | Code::RegistryUnavailable)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Codes order by name, as the strings they replaced did: sorted output
/// stays as it was.
impl Ord for Code {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for Code {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A string, one of the codes' names.
impl schemars::JsonSchema for Code {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Code".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        schemars::json_schema!({
            "description": "The kind of problem: a stable kebab-case name (`catalyst explain CODE`, docs/diagnostics.md).",
            "type": "string",
            "enum": names,
        })
    }
}

/// The reference page of every code, `docs/diagnostics.md`, as Markdown.
pub fn reference() -> String {
    use fmt::Write as _;
    let mut out = String::from(
        "# Diagnostic codes\n\n\
         <!-- Generated from compiler/catalyst-diag/src/codes.rs by its tests; do not edit.\n     \
         Regenerate: UPDATE_DOCS=1 cargo test -p catalyst-diag --test reference -->\n\n\
         Every problem catalyst reports carries a stable, kebab-case code: in brackets in\n\
         human output (`error[unknown-field]: ...`) and as `\"code\"` in JSON output\n\
         (`-o json`). Codes are an interface: scripts may match on them, and a code is\n\
         never renamed. `catalyst explain <code>` prints one entry of this page.\n\n\
         A code names the kind of problem; the message says what exactly, the location\n\
         where, and the help what to do in this case. Transient codes (a server that\n\
         could not be reached) make the run exit with 3 when every error is one.\n\n",
    );
    for g in Code::GROUPS {
        let _ = writeln!(out, "- [{}](#{})", g.title, anchor(g.title));
    }
    for g in Code::GROUPS {
        let _ = write!(out, "\n## {}\n\n{}\n", g.title, g.about);
        for c in g.codes {
            let sev = match c.severity() {
                Some(s) => s.as_str(),
                None => "error or warning",
            };
            let transient = if c.is_transient() { ", transient" } else { "" };
            let _ = write!(out, "\n### `{c}`\n\n*{sev}{transient}*. {}\n", c.explanation());
        }
    }
    out
}

/// A heading's anchor as GitHub and most renderers make it.
fn anchor(title: &str) -> String {
    title
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The variant is the name in CamelCase, so `Code::X` in a source names
    /// the code `x` and the unused-code test can find it.
    #[test]
    fn variants_are_their_names_in_camel_case() {
        for c in Code::ALL {
            let camel: String = c
                .as_str()
                .split('-')
                .map(|w| {
                    let mut cs = w.chars();
                    cs.next().map_or_else(String::new, |f| f.to_ascii_uppercase().to_string() + cs.as_str())
                })
                .collect();
            assert_eq!(format!("{c:?}"), camel, "{c}");
        }
    }

    #[test]
    fn names_are_kebab_case_unique_and_parse_back() {
        let mut seen = std::collections::BTreeSet::new();
        for &c in Code::ALL {
            let n = c.as_str();
            assert!(
                !n.is_empty()
                    && !n.starts_with('-')
                    && !n.ends_with('-')
                    && !n.contains("--")
                    && n.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-'),
                "not kebab-case: {n:?}"
            );
            assert!(seen.insert(n), "{n} twice");
            assert_eq!(Code::parse(n), Some(c));
        }
        assert_eq!(Code::parse("no-such-code"), None);
        let grouped: usize = Code::GROUPS.iter().map(|g| g.codes.len()).sum();
        assert_eq!(grouped, Code::ALL.len());
    }

    #[test]
    fn explanations_are_sentences_and_distinct() {
        let mut seen = std::collections::BTreeMap::new();
        for &c in Code::ALL {
            let e = c.explanation();
            assert!(e.len() >= 40 && e.ends_with('.') && e.starts_with(|ch: char| !ch.is_lowercase()), "{c}: {e:?}");
            assert!(!e.contains('\n'), "{c}: one paragraph");
            if let Some(other) = seen.insert(e, c) {
                panic!("{c} and {other} have the same explanation");
            }
        }
        for g in Code::GROUPS {
            assert!(!g.title.is_empty() && g.about.ends_with('.'), "{}", g.title);
        }
    }

    /// Serialized as its name, so JSON output is what it was with strings.
    #[test]
    fn serializes_as_its_name() {
        assert_eq!(serde_json::to_string(&Code::UnknownField).unwrap(), "\"unknown-field\"");
        assert_eq!(Code::UnknownField.to_string(), "unknown-field");
        assert!(Code::RegistryTimeout > Code::NetworkUnreachable && Code::Usage > Code::UnusedConfiguration);
    }
}
