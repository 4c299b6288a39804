package auth0

// IsEntity marks Organization as an Apollo Federation entity (keyed by id):
// the schema binds this type directly, and gqlgen's generated _entities
// union asks every entity type for this method.
func (Organization) IsEntity() {}
