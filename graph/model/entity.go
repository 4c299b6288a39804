package model

// IsEntity marks User as an Apollo Federation entity (keyed by id), which
// gqlgen's generated _entities union asks of every entity type.
func (User) IsEntity() {}
