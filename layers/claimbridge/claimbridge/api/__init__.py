"""The tenant API (issue 8): identity mapping, problem documents, the resolver and its service layer."""
