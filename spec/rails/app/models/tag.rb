# frozen_string_literal: true

# A site's tag (joined relations in the specs).
class Tag < ApplicationRecord
  belongs_to :site
end
