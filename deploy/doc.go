// Package deploy holds no Go code: its tests check the deployment artifacts,
// the Dockerfile, the Kubernetes base, the compose stack, and how they fit
// the exporter, the rules and each other. There is no Docker engine and no
// cluster on the build machines, so the checks are the next best things: the
// real Go types of every manifest decoded strictly, kustomize's own renderer,
// compose's own loader and schema, promtool and amtool on the mounted files,
// and the binaries built with the Dockerfile's own build line.
package deploy
