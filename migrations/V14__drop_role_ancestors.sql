-- role_ancestors (V1) was meant as a closure of role inheritance kept by the
-- application; rawx never filled it: who holds a role is computed from
-- role_parents, role_users and role_teams by a recursive query
-- (rbac::held_roles). An empty table and its rebuild function only mislead.
DROP FUNCTION IF EXISTS rawx_rebuild_role_ancestors();
DROP TABLE IF EXISTS role_ancestors;
